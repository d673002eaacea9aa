/*
 * TLS, TCP and UDP connections through the C ABI (examples/l4/l4.yaml, the path in argv[1]):
 * gw_router_route_l4 routes a TLS connection by its server name to a TLSRoute, TCP to a
 * TCPRoute and UDP to a UDPRoute; the decision names the route and the backend to splice the
 * bytes to, or not found with its cause (close the connection, drop the datagram). An
 * unknown transport or a server name given for TCP is a bad request. Built with -Wall -Wextra
 * -Werror and run under ASan/UBSan and valgrind by ../run-c-tests.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static int failures = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                             \
        }                                                                           \
    } while (0)

static int eq(gw_slice s, const char *text) {
    size_t n = strlen(text);
    return s.data != NULL && s.len == n && memcmp(s.data, text, n) == 0;
}

static gw_decision *route(const gw_router *router, uint32_t transport, uint16_t port,
                          const char *sni) {
    gw_decision *d = NULL;
    size_t len = sni == NULL ? 0 : strlen(sni);
    CHECK(gw_router_route_l4(router, transport, port, (const uint8_t *)sni, len, 0, &d) ==
          GW_RESULT_OK);
    return d;
}

/* A forward to `route_name` (of `kind`) and the backend `backend`:`port`, then freed. */
static void check_forward(gw_decision *d, gw_route_kind kind, const char *route_name,
                          const char *backend, uint16_t port) {
    CHECK(d != NULL);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_FORWARD);
    CHECK(gw_decision_cause(d) == GW_CAUSE_NONE);
    CHECK(gw_decision_status(d) == 0);
    gw_route_match m;
    CHECK(gw_decision_route(d, &m));
    CHECK(m.kind == kind && eq(m.ns, "edge") && eq(m.name, route_name) && m.rule_index == 0);
    gw_backend b;
    CHECK(gw_decision_backend(d, &b));
    CHECK(eq(b.ns, "edge") && eq(b.name, backend) && b.port == port);
    gw_decision_free(d);
}

/* Not found with `cause`, no route and no backend, then freed. */
static void check_not_found(gw_decision *d, gw_cause cause) {
    CHECK(d != NULL);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_NOT_FOUND);
    CHECK(gw_decision_cause(d) == cause);
    CHECK(gw_decision_status(d) == 0);
    CHECK(gw_decision_reason(d).len > 0);
    gw_route_match m;
    CHECK(!gw_decision_route(d, &m));
    gw_backend b;
    CHECK(!gw_decision_backend(d, &b));
    gw_decision_free(d);
}

static void check_bad_request(gw_decision *d) {
    CHECK(d != NULL);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_BAD_REQUEST);
    CHECK(gw_decision_cause(d) == GW_CAUSE_MALFORMED_REQUEST);
    gw_decision_free(d);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s examples/l4/l4.yaml\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    static char yaml[1 << 16];
    size_t len = fread(yaml, 1, sizeof yaml, f);
    fclose(f);

    gw_config *config = NULL;
    CHECK(gw_config_load((const uint8_t *)yaml, len, &config, NULL) == GW_RESULT_OK);
    gw_router *router = NULL;
    CHECK(gw_router_build(config, NULL, 0, NULL, 0, &router, NULL) == GW_RESULT_OK);
    gw_config_free(config);
    if (router == NULL) {
        fprintf(stderr, "no router\n");
        return 1;
    }

    /* TLS by server name: the exact hostname before the wildcard. */
    check_forward(route(router, GW_TRANSPORT_TLS, 8443, "db.example.com"), GW_ROUTE_KIND_TLS,
                  "db", "db", 5432);
    check_forward(route(router, GW_TRANSPORT_TLS, 8443, "WWW.example.com."), GW_ROUTE_KIND_TLS,
                  "sites", "web", 8443);
    check_forward(route(router, GW_TRANSPORT_TCP, 9000, NULL), GW_ROUTE_KIND_TCP, "echo", "echo",
                  9000);
    check_forward(route(router, GW_TRANSPORT_UDP, 9053, NULL), GW_ROUTE_KIND_UDP, "dns", "dns",
                  53);

    check_not_found(route(router, GW_TRANSPORT_TLS, 8443, "db.other.org"), GW_CAUSE_NO_RULE);
    check_not_found(route(router, GW_TRANSPORT_UDP, 9000, NULL), GW_CAUSE_NO_LISTENER_ON_PORT);
    check_not_found(route(router, GW_TRANSPORT_TCP, 8443, NULL), GW_CAUSE_NO_LISTENER_ON_PORT);

    check_bad_request(route(router, 0, 9000, NULL));
    check_bad_request(route(router, GW_TRANSPORT_TCP, 9000, "db.example.com"));

    gw_decision *d = NULL;
    CHECK(gw_router_route_l4(NULL, GW_TRANSPORT_TCP, 9000, NULL, 0, 0, &d) ==
          GW_RESULT_NULL_PARAMETER && d == NULL);
    CHECK(gw_router_route_l4(router, GW_TRANSPORT_TLS, 8443, NULL, 3, 0, &d) ==
          GW_RESULT_NULL_PARAMETER && d == NULL);
    CHECK(gw_router_route_l4(router, GW_TRANSPORT_TCP, 9000, NULL, 0, 0, NULL) ==
          GW_RESULT_NULL_PARAMETER);

    gw_router_free(router);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_l4: all checks passed\n");
    return 0;
}
