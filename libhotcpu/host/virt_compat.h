/* virt_compat.h: what hotcpu uses from libvirt newer than its floor (9.0,
 * Debian 12's own), spelled so that it builds against 9.0's headers.
 *
 * Everything else the host side calls exists in 9.0; a build against 9.0's
 * headers and libvirt.so (tests/floors/libvirt-floor.sh) proves it.
 */
#pragma once

#include <libvirt/libvirt.h>

/* virDomainGetGuestInfo's OS keys are macros only since libvirt 11.2; the
 * keys themselves ("os.id", "os.kernel-release") date from 5.7. */
#ifndef VIR_DOMAIN_GUEST_INFO_OS_ID
#define VIR_DOMAIN_GUEST_INFO_OS_ID "os.id"
#endif
#ifndef VIR_DOMAIN_GUEST_INFO_OS_KERNEL_RELEASE
#define VIR_DOMAIN_GUEST_INFO_OS_KERNEL_RELEASE "os.kernel-release"
#endif
