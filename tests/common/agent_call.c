/* agent_call.c: one question to an agent on a unix socket, for tests. */
#include "agent_call.h"

#include "deadline.h"

JsonNode *
agent_client_call_once(const char *socket_path, const char *execute, JsonObject *arguments,
                       guint timeout_ms, GError **error)
{
    gint64 deadline = deadline_after_ms(timeout_ms);
    g_autoptr(AgentClient) client = agent_client_connect(socket_path, timeout_ms, error);

    if (client == NULL)
        return NULL;
    /* One budget for the whole exchange, not one per step. */
    return agent_client_call(client, execute, arguments, deadline_ms_left(deadline), error);
}
