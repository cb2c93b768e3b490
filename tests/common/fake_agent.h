/* fake_agent.h: a scripted stand-in hotcpu agent on a unix socket, for the
 * tests that need a guest to say what a real agent never would (or to count
 * what it was asked).  One accept loop for every suite: a thread accepts one
 * host at a time, reads its request lines and hands each to a handler; by
 * default fake_agent_answer(), which answers from a table.
 */
#pragma once

#include <glib.h>

#include "protocol.h"

/* FakeAnswer.repeat: send `before` until the host goes (a flood). */
#define FAKE_AGENT_FLOOD G_MAXUINT

/* One scripted answer, for the request whose execute is @execute. */
typedef struct {
    const char *execute;
    const char *reply;  /* the reply line, "@ID@" for the request's id; NULL: none */
    const char *before; /* a line sent before the reply... */
    guint repeat;       /* ...this many times; FAKE_AGENT_FLOOD: until the host goes */
} FakeAnswer;

typedef struct FakeAgent FakeAgent;

/* Answers one request on @fd; FALSE when the connection is to end. */
typedef gboolean (*FakeAgentHandler)(FakeAgent *fa, int fd, const ProtoRequest *req);

struct FakeAgent {
    char *socket;              /* its path */
    const FakeAnswer *answers; /* fake_agent_answer's table, NULL-terminated by execute */
    const char *greeting;      /* lines sent to every host as it connects; NULL: none */
    FakeAgentHandler handler;  /* NULL: fake_agent_answer */
    guint connections;         /* hosts accepted so far */
    /* the loop's own */
    int listen_fd;
    GThread *thread;
    gint stop;
};

/* Listens on @socket_path (bound, not yet accepting: a chardev with nobody
 * behind it) in @fa, which the caller allocated (it may embed it). */
void fake_agent_listen(FakeAgent *fa, const char *socket_path);

/* Starts accepting, each request to fa->handler. */
void fake_agent_serve(FakeAgent *fa);

/* Stops the loop and removes the socket; @fa itself stays the caller's. */
void fake_agent_close(FakeAgent *fa);

/* A table-driven agent listening on DIR/fake-agent.sock and serving. */
FakeAgent *fake_agent_start_in(const char *dir, const FakeAnswer *answers, const char *greeting);

/* fake_agent_close() and frees what fake_agent_start_in() made. */
void fake_agent_stop(FakeAgent *fa);

/* The table's answer to @req (CommandNotFound when it has none): `before`
 * lines, then the reply.  FALSE when the host went (or after a flood). */
gboolean fake_agent_answer(FakeAgent *fa, int fd, const ProtoRequest *req);

/* Sends all of @text, giving up when the host goes or the agent stops. */
gboolean fake_agent_send(FakeAgent *fa, int fd, const char *text);

/* @tmpl with every "@ID@" replaced by @id as JSON (null when NULL), and a
 * newline. */
char *fake_agent_fill_id(const char *tmpl, JsonNode *id);
