/* agent_call.h: one question to an agent on a unix socket, for tests. */
#pragma once

#include "agent_client.h"

/* Connect, call, disconnect, all within @timeout_ms. */
JsonNode *agent_client_call_once(const char *socket_path, const char *execute,
                                 JsonObject *arguments, guint timeout_ms, GError **error);
