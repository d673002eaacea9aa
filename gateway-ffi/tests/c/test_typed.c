/*
 * External auth and backend TLS through the typed C ABI: an ExternalAuth rule gives
 * GW_OUTCOME_AUTHORIZE, the check is read, answers (HTTP allow/deny, failures, gRPC) are fed
 * back with gw_decision_authorize; a BackendTLSPolicy forward carries its settings and
 * gw_decision_verify_backend_chain accepts the good chain and refuses the others; a request
 * given with its TLS connection (gw_request.tls) is refused when its client certificate or
 * session does not pass the port's frontend TLS (gw_decision_frontend_tls). The
 * configuration and certificates come from ../fixtures through fixtures.h. Built with -Wall
 * -Wextra -Werror and run under ASan/UBSan and valgrind by ../run-c-tests.sh.
 */
#include <stdio.h>
#include <string.h>

#include "fixtures.h"
#include "gateway.h"

static int failures = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                             \
        }                                                                           \
    } while (0)

/* 2030-03-17: inside the fixtures' validity. */
#define NOW 1900000000ULL

static gw_slice slice(const char *s) {
    gw_slice out = {(const uint8_t *)s, strlen(s)};
    return out;
}

static gw_slice bytes(const unsigned char *data, size_t len) {
    gw_slice out = {data, len};
    return out;
}

static int eq(gw_slice s, const char *text) {
    size_t n = strlen(text);
    return s.data != NULL && s.len == n && memcmp(s.data, text, n) == 0;
}

static int contains(gw_slice s, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; s.data != NULL && i + n <= s.len; i++) {
        if (memcmp(s.data + i, needle, n) == 0) return 1;
    }
    return 0;
}

static gw_decision *route(const gw_router *router, const char *method, const char *target,
                          const gw_header *extra, size_t n_extra) {
    gw_header headers[8];
    headers[0].name = slice("host");
    headers[0].value = slice("app.example.com");
    for (size_t i = 0; i < n_extra && i < 7; i++) headers[i + 1] = extra[i];
    gw_request req;
    memset(&req, 0, sizeof req);
    req.method = slice(method);
    req.target = slice(target);
    req.headers = headers;
    req.headers_len = 1 + n_extra;
    req.port = 80;
    gw_decision *d = NULL;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    return d;
}

static gw_decision *authorize(const gw_decision *d, const gw_auth_response *answer) {
    gw_decision *next = NULL;
    CHECK(gw_decision_authorize(d, answer, &next) == GW_RESULT_OK);
    CHECK(next != NULL);
    return next;
}

static int has_request_edit(const gw_decision *d, gw_header_op op, const char *name,
                            const char *value) {
    for (size_t i = 0; i < gw_decision_request_edit_count(d); i++) {
        gw_header_edit e;
        if (gw_decision_request_edit(d, i, &e) && e.op == op && eq(e.name, name) &&
            eq(e.value, value)) {
            return 1;
        }
    }
    return 0;
}

static void http_auth(const gw_router *router) {
    gw_header extra[] = {
        {slice("x-user"), slice("bob")},
        {slice("authorization"), slice("Bearer t")},
        {slice("cookie"), slice("not for the auth service")},
    };
    gw_decision *d = route(router, "GET", "/http/x?q=1", extra, 3);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_AUTHORIZE);
    CHECK(gw_decision_path(d).data == NULL);

    gw_auth_check check;
    memset(&check, 0, sizeof check);
    CHECK(gw_decision_auth_check(d, &check));
    CHECK(check.protocol == GW_AUTH_PROTOCOL_HTTP);
    CHECK(eq(check.backend.ns, "infra") && eq(check.backend.name, "auth"));
    CHECK(check.backend.port == 9000);
    CHECK(eq(check.method, "GET"));
    CHECK(eq(check.path, "/check/http/x?q=1"));
    CHECK(check.body.len == 0 && check.grpc_message.data == NULL && !check.forward_body);
    size_t n = gw_decision_auth_header_count(d);
    CHECK(n == 4);
    int saw_user = 0, saw_cookie = 0;
    for (size_t i = 0; i < n; i++) {
        gw_header h;
        CHECK(gw_decision_auth_header(d, i, &h));
        if (eq(h.name, "x-user") && eq(h.value, "bob")) saw_user = 1;
        if (eq(h.name, "cookie")) saw_cookie = 1;
    }
    CHECK(saw_user && !saw_cookie);
    gw_header unused;
    CHECK(!gw_decision_auth_header(d, n, &unused));

    /* Allow: 200 with an allowed header, and one that is not copied. */
    gw_header allow_headers[] = {
        {slice("x-auth-user"), slice("bob")},
        {slice("x-not-allowed"), slice("1")},
    };
    gw_auth_response answer;
    memset(&answer, 0, sizeof answer);
    answer.answer = GW_AUTH_ANSWER_HTTP;
    answer.status = 200;
    answer.headers = allow_headers;
    answer.headers_len = 2;
    gw_decision *next = authorize(d, &answer);
    CHECK(gw_decision_outcome(next) == GW_OUTCOME_FORWARD);
    CHECK(eq(gw_decision_path(next), "/http/x?q=1"));
    gw_backend b;
    CHECK(gw_decision_backend(next, &b) && eq(b.name, "app") && b.port == 8080);
    CHECK(has_request_edit(next, GW_HEADER_OP_SET, "x-auth-user", "bob"));
    CHECK(gw_decision_request_edit_count(next) == 1);
    gw_decision_free(next);

    /* Deny: 403 with a header and a body, for the client. */
    gw_header deny_headers[] = {{slice("x-reason"), slice("nope")}};
    memset(&answer, 0, sizeof answer);
    answer.answer = GW_AUTH_ANSWER_HTTP;
    answer.status = 403;
    answer.headers = deny_headers;
    answer.headers_len = 1;
    answer.body = slice("denied");
    next = authorize(d, &answer);
    CHECK(gw_decision_outcome(next) == GW_OUTCOME_DENIED);
    CHECK(gw_decision_cause(next) == GW_CAUSE_BY_AUTH_SERVICE);
    CHECK(gw_decision_status(next) == 403);
    gw_header h;
    CHECK(gw_decision_local_header_count(next) == 1);
    CHECK(gw_decision_local_header(next, 0, &h) && eq(h.name, "x-reason") && eq(h.value, "nope"));
    CHECK(eq(gw_decision_local_body(next), "denied"));
    CHECK(!gw_decision_backend(next, &b));
    gw_decision_free(next);

    /* Timeout: the configured failure status. */
    memset(&answer, 0, sizeof answer);
    answer.answer = GW_AUTH_ANSWER_TIMEOUT;
    answer.failure_status = 503;
    next = authorize(d, &answer);
    CHECK(gw_decision_outcome(next) == GW_OUTCOME_DENIED);
    CHECK(gw_decision_cause(next) == GW_CAUSE_AUTH_FAILED);
    CHECK(gw_decision_status(next) == 503);
    gw_decision_free(next);

    /* Unreachable, default failure status; an unknown answer kind fails closed too. */
    memset(&answer, 0, sizeof answer);
    answer.answer = GW_AUTH_ANSWER_UNREACHABLE;
    next = authorize(d, &answer);
    CHECK(gw_decision_status(next) == 403);
    gw_decision_free(next);
    answer.answer = 1000;
    answer.status = 200;
    next = authorize(d, &answer);
    CHECK(gw_decision_outcome(next) == GW_OUTCOME_DENIED && gw_decision_status(next) == 403);
    gw_decision_free(next);

    /* Invalid arguments: errors, out-params untouched. */
    next = NULL;
    CHECK(gw_decision_authorize(NULL, &answer, &next) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_decision_authorize(d, NULL, &next) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_decision_authorize(d, &answer, NULL) == GW_RESULT_NULL_PARAMETER);
    answer.headers = NULL;
    answer.headers_len = 2;
    CHECK(gw_decision_authorize(d, &answer, &next) == GW_RESULT_NULL_PARAMETER);
    CHECK(next == NULL);
    CHECK(!gw_decision_auth_check(NULL, &check));
    CHECK(!gw_decision_auth_check(d, NULL));
    gw_decision_free(d);
}

static void grpc_auth(const gw_router *router) {
    gw_header extra[] = {{slice("content-length"), slice("3")}};
    gw_decision *d = route(router, "POST", "/grpc/a", extra, 1);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_AUTHORIZE);
    CHECK(gw_decision_cause(d) == GW_CAUSE_NONE);
    gw_auth_check check;
    CHECK(gw_decision_auth_check(d, &check));
    CHECK(check.protocol == GW_AUTH_PROTOCOL_GRPC);
    CHECK(eq(check.path, "/envoy.service.auth.v3.Authorization/Check"));
    CHECK(check.forward_body && check.max_body == 8);
    CHECK(contains(check.grpc_message, "/grpc/a"));

    /* forwardBody: the body goes into the check; over maxSize it is refused with 413. */
    gw_decision *with_body = NULL;
    CHECK(gw_decision_auth_body(d, (const uint8_t *)"abc", 3, false, &with_body) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(with_body) == GW_OUTCOME_AUTHORIZE);
    CHECK(gw_decision_auth_check(with_body, &check) && contains(check.grpc_message, "abc"));
    gw_decision *too_big = NULL;
    CHECK(gw_decision_auth_body(d, (const uint8_t *)"123456789", 9, false, &too_big) ==
          GW_RESULT_OK);
    CHECK(gw_decision_outcome(too_big) == GW_OUTCOME_DENIED);
    CHECK(gw_decision_cause(too_big) == GW_CAUSE_BODY_TOO_LARGE);
    CHECK(gw_decision_status(too_big) == 413);
    gw_decision_free(too_big);

    /* A CheckResponse built by hand: status OK, ok_response setting x-auth-user: bob. */
    static const unsigned char ok[] = {0x0a, 0x00, 0x1a, 0x16, 0x12, 0x14, 0x0a, 0x12, 0x0a,
                                       0x0b, 'x',  '-',  'a',  'u',  't',  'h',  '-',  'u',
                                       's',  'e',  'r',  0x12, 0x03, 'b',  'o',  'b'};
    gw_auth_response answer;
    memset(&answer, 0, sizeof answer);
    answer.answer = GW_AUTH_ANSWER_GRPC;
    answer.message = bytes(ok, sizeof ok);
    gw_decision *next = authorize(with_body, &answer);
    CHECK(gw_decision_outcome(next) == GW_OUTCOME_FORWARD);
    CHECK(has_request_edit(next, GW_HEADER_OP_SET, "x-auth-user", "bob"));
    gw_decision_free(next);

    /* PERMISSION_DENIED with denied_response status 401. */
    static const unsigned char deny[] = {0x0a, 0x02, 0x08, 0x07, 0x12, 0x05,
                                         0x0a, 0x03, 0x08, 0x91, 0x03};
    answer.message = bytes(deny, sizeof deny);
    next = authorize(d, &answer);
    CHECK(gw_decision_outcome(next) == GW_OUTCOME_DENIED && gw_decision_status(next) == 401);
    gw_decision_free(next);

    /* Not protobuf: fails closed. */
    answer.message = slice("\x7f garbage");
    next = authorize(d, &answer);
    CHECK(gw_decision_outcome(next) == GW_OUTCOME_DENIED && gw_decision_status(next) == 403);
    CHECK(gw_decision_cause(next) == GW_CAUSE_AUTH_FAILED);
    gw_decision_free(next);

    /* Decisions may be freed in any order: the answer's decision outlives its checks. */
    answer.message = bytes(ok, sizeof ok);
    next = authorize(with_body, &answer);
    gw_decision_free(with_body);
    gw_decision_free(d);
    CHECK(gw_decision_outcome(next) == GW_OUTCOME_FORWARD);
    CHECK(eq(gw_decision_path(next), "/grpc/a"));
    CHECK(has_request_edit(next, GW_HEADER_OP_SET, "x-auth-user", "bob"));
    gw_decision_free(next);
}

static gw_result verify(const gw_decision *d, const unsigned char *der, size_t len,
                        uint64_t now) {
    gw_slice chain[1] = {bytes(der, len)};
    gw_error *error = NULL;
    gw_result r = gw_decision_verify_backend_chain(d, chain, 1, now, &error);
    if (r == GW_RESULT_OK) {
        CHECK(error == NULL);
    } else {
        CHECK(error != NULL && gw_error_code(error) == r && gw_error_message(error).len > 0);
    }
    gw_error_free(error);
    return r;
}

static void backend_tls(const gw_router *router) {
    gw_decision *d = route(router, "GET", "/tls", NULL, 0);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_FORWARD);
    gw_backend_tls tls;
    memset(&tls, 0, sizeof tls);
    CHECK(gw_decision_backend_tls(d, &tls));
    CHECK(eq(tls.sni, "api.example.com") && eq(tls.policy, "infra/api-tls"));
    CHECK(tls.trust == GW_TLS_TRUST_CA_BUNDLE && tls.ca_count == 1);
    CHECK(tls.identity_count == 1 && tls.client_certificate_count == 0);
    gw_slice ca = gw_decision_backend_tls_ca(d, 0);
    CHECK(ca.data != NULL && ca.len > 0 && ca.data[0] == 0x30);
    CHECK(gw_decision_backend_tls_ca(d, 1).data == NULL);
    gw_tls_identity id;
    CHECK(gw_decision_backend_tls_identity(d, 0, &id));
    CHECK(id.kind == GW_TLS_IDENTITY_KIND_HOSTNAME && eq(id.value, "api.example.com"));
    gw_private_key key;
    CHECK(!gw_decision_backend_tls_client_key(d, &key));
    CHECK(gw_decision_backend_tls_client_certificate(d, 0).data == NULL);

    CHECK(verify(d, leaf_der, leaf_der_len, NOW) == GW_RESULT_OK);
    CHECK(verify(d, wrong_name_der, wrong_name_der_len, NOW) ==
          GW_RESULT_CERTIFICATE_NAME_MISMATCH);
    CHECK(verify(d, untrusted_der, untrusted_der_len, NOW) ==
          GW_RESULT_CERTIFICATE_UNKNOWN_ISSUER);
    CHECK(verify(d, leaf_der, leaf_der_len, 1000000000ULL) ==
          GW_RESULT_CERTIFICATE_NOT_YET_VALID);
    CHECK(verify(d, (const unsigned char *)"junk", 4, NOW) ==
          GW_RESULT_CERTIFICATE_BAD_ENCODING);
    CHECK(gw_decision_verify_backend_chain(d, NULL, 0, NOW, NULL) ==
          GW_RESULT_CERTIFICATE_MISSING);
    CHECK(gw_decision_verify_backend_chain(d, NULL, 1, NOW, NULL) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_decision_verify_backend_chain(NULL, NULL, 0, NOW, NULL) ==
          GW_RESULT_NULL_PARAMETER);

    /* A decision without backend TLS. */
    gw_decision *plain = route(router, "GET", "/http", NULL, 0);
    CHECK(!gw_decision_backend_tls(plain, &tls));
    CHECK(verify(plain, leaf_der, leaf_der_len, NOW) == GW_RESULT_NOT_APPLICABLE);
    gw_decision_free(plain);
    gw_decision_free(d);
}

/* Frontend TLS: a request given with its connection's handshake facts (gw_request.tls) is
 * judged first: port 8443 accepts only clients whose chain leads to client-ca.pem
 * (AllowValidOnly), and a session resumed from another port is misdirected. */
static gw_decision *route_tls(const gw_router *router, uint16_t port, const gw_tls_connection *tls) {
    gw_header host = {slice("host"), slice("app.example.com")};
    gw_request req;
    memset(&req, 0, sizeof req);
    req.method = slice("GET");
    req.scheme = slice("https");
    req.target = slice("/");
    req.headers = &host;
    req.headers_len = 1;
    req.sni = slice("app.example.com");
    req.port = port;
    req.tls = tls;
    gw_decision *d = NULL;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    return d;
}

static void frontend_tls(void) {
    gw_config *config = NULL;
    gw_router *router = NULL;
    CHECK(gw_config_load(frontend_yaml, frontend_yaml_len, &config, NULL) == GW_RESULT_OK);
    CHECK(gw_router_build(config, NULL, 0, NULL, 0, &router, NULL) == GW_RESULT_OK);
    gw_config_free(config);
    if (router == NULL) return;

    gw_slice good = bytes(client_der, client_der_len);
    gw_slice stranger = bytes(stranger_client_der, stranger_client_der_len);
    gw_slice server_only = bytes(leaf_der, leaf_der_len);
    gw_tls_connection tls;
    memset(&tls, 0, sizeof tls);
    tls.now_unix_secs = NOW;
    gw_frontend_tls f;

    /* A valid client certificate: routed. */
    tls.client_chain = &good;
    tls.client_chain_len = 1;
    gw_decision *d = route_tls(router, 8443, &tls);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_FORWARD);
    CHECK(gw_decision_frontend_tls(d, &f));
    CHECK(f.session_port == 8443 && f.validation == GW_CLIENT_VALIDATION_ALLOW_VALID_ONLY);
    CHECK(f.client_auth == GW_CLIENT_AUTH_VERIFIED && f.client_certificate == GW_RESULT_OK);
    CHECK(f.coalescing == GW_COALESCING_ALLOW);
    gw_decision_free(d);

    /* Signed by another CA, for serverAuth only, or none: refused with 421. */
    const gw_slice *chains[] = {&stranger, &server_only, NULL};
    const gw_result reasons[] = {GW_RESULT_CERTIFICATE_UNKNOWN_ISSUER,
                                 GW_RESULT_CERTIFICATE_WRONG_USAGE, GW_RESULT_CERTIFICATE_MISSING};
    for (size_t i = 0; i < 3; i++) {
        tls.client_chain = chains[i];
        tls.client_chain_len = chains[i] != NULL ? 1 : 0;
        d = route_tls(router, 8443, &tls);
        CHECK(gw_decision_outcome(d) == GW_OUTCOME_MISDIRECTED);
        CHECK(gw_decision_status(d) == 421);
        CHECK(contains(gw_decision_reason(d), "coalescing guard"));
        CHECK(!gw_decision_backend(d, NULL));
        CHECK(gw_decision_frontend_tls(d, &f));
        CHECK(f.client_auth == GW_CLIENT_AUTH_UNVERIFIED && f.client_certificate == reasons[i]);
        CHECK(f.coalescing == GW_COALESCING_MISDIRECTED);
        gw_decision_free(d);
    }

    /* A session of the open port resumed on the strict one: misdirected. */
    tls.client_chain = NULL;
    tls.client_chain_len = 0;
    tls.resumed_from_port = 443;
    d = route_tls(router, 8443, &tls);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_MISDIRECTED);
    CHECK(gw_decision_frontend_tls(d, &f));
    CHECK(f.session_port == 443 && f.client_auth == GW_CLIENT_AUTH_NOT_REQUESTED);
    gw_decision_free(d);

    /* The open port asks for nothing; without tls there are no verdicts. */
    tls.resumed_from_port = 0;
    d = route_tls(router, 443, &tls);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_FORWARD);
    CHECK(gw_decision_frontend_tls(d, &f) && f.validation == GW_CLIENT_VALIDATION_NONE);
    gw_decision_free(d);
    d = route_tls(router, 8443, NULL);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_FORWARD);
    CHECK(!gw_decision_frontend_tls(d, &f));
    CHECK(!gw_decision_frontend_tls(NULL, &f));
    gw_decision_free(d);

    /* A NULL chain with a length is a NULL parameter. */
    tls.client_chain_len = 1;
    gw_header host = {slice("host"), slice("app.example.com")};
    gw_request req;
    memset(&req, 0, sizeof req);
    req.method = slice("GET");
    req.target = slice("/");
    req.headers = &host;
    req.headers_len = 1;
    req.port = 8443;
    req.tls = &tls;
    d = NULL;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_NULL_PARAMETER && d == NULL);
    gw_router_free(router);
}

int main(void) {
    gw_config *config = NULL;
    gw_error *error = NULL;
    if (gw_config_load(typed_yaml, typed_yaml_len, &config, &error) != GW_RESULT_OK) {
        gw_slice m = gw_error_message(error);
        fprintf(stderr, "load: %.*s\n", (int)m.len, (const char *)m.data);
        gw_error_free(error);
        return 1;
    }
    gw_router *router = NULL;
    CHECK(gw_router_build(config, (const uint8_t *)"infra", 5, (const uint8_t *)"gw", 2, &router,
                          NULL) == GW_RESULT_OK);
    gw_config_free(config);
    if (router == NULL) return 1;

    http_auth(router);
    grpc_auth(router);
    backend_tls(router);
    frontend_tls();

    char buf[64];
    size_t n = 0;
    CHECK(gw_result_describe(GW_RESULT_CERTIFICATE_NAME_MISMATCH, (uint8_t *)buf, sizeof buf,
                             &n) == GW_RESULT_OK);
    CHECK(n > 0 && memcmp(buf, "unknown", 7) != 0);

    gw_router_free(router);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_typed: all checks passed\n");
    return 0;
}
