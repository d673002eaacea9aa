/*
 * A small C program using gateway-core through its C ABI: load manifests, build the router of
 * one Gateway, route a few requests, and print what a proxy would do with each.
 *
 *   make            # builds the static library with cargo, then this program
 *   ./route ../manifests/shop.yaml
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

/* Prints a gw_slice (not NUL-terminated). */
#define SLICE(s) (int)(s).len, (const char *)(s).data

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)size);
    if (buf != NULL && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void print_error(const char *what, gw_result code, gw_error *error) {
    fprintf(stderr, "%s failed (%u)\n", what, (unsigned)code);
    for (size_t i = 0; i < gw_error_diagnostic_count(error); i++) {
        gw_diagnostic d;
        if (gw_error_diagnostic(error, i, &d) == GW_RESULT_OK) {
            fprintf(stderr, "  %.*s %.*s/%.*s: %.*s: %.*s\n", SLICE(d.kind), SLICE(d.ns),
                    SLICE(d.name), SLICE(d.path), SLICE(d.message));
        }
    }
    if (gw_error_diagnostic_count(error) == 0) {
        fprintf(stderr, "  %.*s\n", SLICE(gw_error_message(error)));
    }
    gw_error_free(error);
}

static const char *OUTCOMES[] = {"forward",     "redirect",    "respond",
                                 "not_found",   "bad_request", "misdirected",
                                 "server_error", "authorize",  "denied"};

/* Routes one request and prints the decision. */
static void route(const gw_router *router, const char *method, const char *target,
                  const char *host, const char *extra_name, const char *extra_value) {
    gw_header headers[2] = {
        {{(const uint8_t *)"host", 4}, {(const uint8_t *)host, strlen(host)}},
        {{(const uint8_t *)extra_name, extra_name ? strlen(extra_name) : 0},
         {(const uint8_t *)extra_value, extra_value ? strlen(extra_value) : 0}},
    };
    gw_request request = {0};
    request.method = (gw_slice){(const uint8_t *)method, strlen(method)};
    request.target = (gw_slice){(const uint8_t *)target, strlen(target)};
    request.headers = headers;
    request.headers_len = extra_name ? 2 : 1;
    request.port = 80;          /* the port the connection arrived on */
    request.random = 12345;     /* any random value: picks among weighted backends */

    gw_decision *decision = NULL;
    gw_result r = gw_router_route(router, &request, &decision);
    if (r != GW_RESULT_OK) {
        fprintf(stderr, "gw_router_route failed (%u)\n", (unsigned)r);
        return;
    }
    printf("%s %s (host: %s%s%s%s%s)\n", method, target, host, extra_name ? ", " : "",
           extra_name ? extra_name : "", extra_name ? ": " : "", extra_value ? extra_value : "");
    gw_outcome outcome = gw_decision_outcome(decision);
    printf("  outcome   %s", OUTCOMES[outcome <= GW_OUTCOME_DENIED ? outcome : 6]);
    if (outcome != GW_OUTCOME_FORWARD) printf(" %u", (unsigned)gw_decision_status(decision));
    /* Why the proxy answers itself: switch on the cause, never on the reason text. */
    gw_cause cause = gw_decision_cause(decision);
    if (cause == GW_CAUSE_NO_LISTENER_FOR_HOST || cause == GW_CAUSE_NO_RULE) printf(" (no route)");
    else if (cause != GW_CAUSE_NONE) printf(" (cause %u)", (unsigned)cause);
    printf("\n");

    gw_route_match match;
    if (gw_decision_route(decision, &match)) {
        printf("  route     %.*s/%.*s rule %zu (%.*s)\n", SLICE(match.ns), SLICE(match.name),
               match.rule_index, SLICE(match.rule_name));
    }
    gw_backend backend;
    if (gw_decision_backend(decision, &backend)) {
        printf("  backend   %.*s/%.*s:%u\n", SLICE(backend.ns), SLICE(backend.name),
               (unsigned)backend.port);
        printf("  forward   %.*s\n", SLICE(gw_decision_path(decision)));
    }
    gw_backend_tls tls;
    if (gw_decision_backend_tls(decision, &tls)) {
        /* Connect with TLS and this SNI; accept the chain only if
         * gw_decision_verify_backend_chain returns GW_RESULT_OK. */
        printf("  tls       sni %.*s (policy %.*s)\n", SLICE(tls.sni), SLICE(tls.policy));
    }
    gw_auth_check check;
    if (gw_decision_auth_check(decision, &check)) {
        /* Send this check, then gw_decision_authorize(decision, &answer, &next). */
        printf("  auth      %s %.*s/%.*s:%u %.*s %.*s\n",
               check.protocol == GW_AUTH_PROTOCOL_HTTP ? "HTTP" : "gRPC", SLICE(check.backend.ns),
               SLICE(check.backend.name), (unsigned)check.backend.port, SLICE(check.method),
               SLICE(check.path));
    }
    for (size_t i = 0; i < gw_decision_request_edit_count(decision); i++) {
        gw_header_edit e;
        gw_decision_request_edit(decision, i, &e);
        printf("  header    %s %.*s %.*s\n", e.op == GW_HEADER_OP_SET ? "set" :
               e.op == GW_HEADER_OP_ADD ? "add" : "remove", SLICE(e.name), SLICE(e.value));
    }
    gw_slice location = gw_decision_location(decision);
    if (location.data != NULL) printf("  location  %.*s\n", SLICE(location));
    gw_slice reason = gw_decision_reason(decision);
    if (reason.data != NULL) printf("  reason    %.*s\n", SLICE(reason));
    gw_decision_free(decision);
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "../manifests/shop.yaml";
    size_t len = 0;
    char *manifests = read_file(path, &len);
    if (manifests == NULL) {
        perror(path);
        return 1;
    }
    printf("gateway-core %.*s (header %s)\n\n", SLICE(gw_version()), GW_VERSION);

    gw_config *config = NULL;
    gw_error *error = NULL;
    gw_result r = gw_config_load((const uint8_t *)manifests, len, &config, &error);
    free(manifests);
    if (r != GW_RESULT_OK) {
        print_error("gw_config_load", r, error);
        return 1;
    }
    gw_router *router = NULL;
    /* An empty Gateway name would pick the only Gateway; shop.yaml has one, shop/shop. */
    r = gw_router_build(config, (const uint8_t *)"shop", 4, (const uint8_t *)"shop", 4, &router,
                        &error);
    gw_config_free(config); /* the router keeps what it needs */
    if (r != GW_RESULT_OK) {
        print_error("gw_router_build", r, error);
        return 1;
    }

    route(router, "GET", "/", "shop.example.com", NULL, NULL);
    route(router, "POST", "/checkout/pay", "shop.example.com", NULL, NULL);
    route(router, "GET", "/api/orders?page=2", "shop.example.com", "x-api-version", "2");
    route(router, "GET", "/api/./v1/../orders", "Shop.Example.com", NULL, NULL);
    route(router, "GET", "/", "blog.example.com", NULL, NULL);
    route(router, "GET", "/", "shop.example.org", NULL, NULL);
    route(router, "GET", "/%2e%2e/etc/passwd", "shop.example.com", NULL, NULL);

    gw_router_free(router);
    return 0;
}
