/* domain_info.h: what hotcpu-ctl needs from a libvirt domain XML, read with
 * libxml2's XPath (as virsh does; libxml2 comes with libvirt).
 *
 * Read: the name, UUID and type; <os><type arch>; <vcpu current='C'>M</vcpu>;
 * <vcpus><vcpu id enabled hotpluggable order/>; <cpu><topology sockets dies
 * clusters cores threads/>; the vCPUs with an explicit <cputune><vcpupin
 * vcpu='N'>; the agent channel (a <channel> whose <target type='virtio'
 * name='org.hotcpu.agent.0'/>) and its host socket (<source mode='bind'
 * path='...'/>); the libosinfo OS id from <metadata><libosinfo:libosinfo
 * xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0"><libosinfo:os
 * id='...'/>, whatever prefix the document binds to that namespace; the
 * hooks' variables from hotcpu's own <metadata> (hook_env.h).
 */
#pragma once

#include <glib.h>

#define DOMAIN_INFO_LIBOSINFO_NS "http://libosinfo.org/xmlns/libvirt/domain/1.0"

/* One <hotcpu:hook-env name='N'>V</hotcpu:hook-env> of the <metadata>, as
 * written (hook_env.c checks it). */
typedef struct {
    char *name;  /* NULL when the element has no name attribute */
    char *value; /* its text, not trimmed */
} DomainHookVar;

/* One <vcpus><vcpu/>: libvirt's per-vCPU hot-plug state. */
typedef struct {
    guint id;
    gboolean enabled;
    /* as written; when absent, libvirt's default for a definition: TRUE
     * only when disabled (a boot vCPU is not hot-pluggable) */
    gboolean hotpluggable;
    gboolean hotpluggable_absent; /* the attribute was not written */
    guint order;                  /* 0 when absent */
} VcpuSlot;

typedef struct {
    char *name;
    char *uuid;
    char *type;         /* <domain type='...'>, NULL if absent */
    char *arch;         /* <os><type arch='...'>, NULL if absent */
    guint vcpu_max;     /* <vcpu>M</vcpu>; 0 if absent */
    guint vcpu_current; /* current= attribute, else vcpu_max */
    GArray *vcpus;      /* VcpuSlot by id; empty when the XML has no <vcpus> */
    gboolean has_topology;
    /* 1 for absent attributes; all 1 without <topology> */
    guint sockets, dies, clusters, cores, threads;
    GArray *pinned_vcpus;       /* guint vCPU ids with a <vcpupin>, ascending */
    gboolean has_agent_channel; /* a channel with the agent's target name */
    char *agent_socket;         /* its bind path; NULL when none */
    char *os_id;                /* NULL when no libosinfo metadata */
    GPtrArray *hook_vars;       /* DomainHookVar *, in document order */
} DomainInfo;

/* Parses @xml.  Fails with G_MARKUP_ERROR when the text is not well formed,
 * is not a <domain>, or a number attribute is not a number. */
DomainInfo *domain_info_parse(const char *xml, GError **error);
void domain_info_free(DomainInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DomainInfo, domain_info_free)

/* vCPUs in one socket: dies x clusters x cores x threads (1 without a
 * <topology>). */
guint domain_info_vcpus_per_socket(const DomainInfo *info);

/* TRUE when vCPU @vcpu has an explicit <vcpupin>. */
gboolean domain_info_vcpu_pinned(const DomainInfo *info, guint vcpu);
