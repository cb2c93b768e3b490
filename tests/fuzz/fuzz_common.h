/* fuzz_common.h: what the libFuzzer targets share.
 *
 * Each target is one LLVMFuzzerTestOneInput built with clang's
 * -fsanitize=fuzzer,address,undefined (meson -Dfuzz=enabled; see
 * docs/reliability.md).  A finding is a crash: a sanitizer report, an
 * abort() from a check below, or a GLib critical (a broken precondition
 * is a bug too).
 */
#pragma once

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Drops log messages (the fuzzer runs millions of inputs) but aborts on
 * criticals and errors. */
void fuzz_quiet_logs(void);

/* @text holds whole lines of the agent's output ('\n'-terminated).  Aborts
 * unless every one parses with the host's own parser (proto_parse_message,
 * what hotcpu-ctl and the hooks use) and fits the contract's line limit. */
void fuzz_check_agent_output(const char *text, gsize len);
