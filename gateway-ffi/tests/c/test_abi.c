/*
 * The C ABI from C: happy paths, every error path, NULL and zero-length arguments, invalid
 * UTF-8 and huge inputs. Built with -Wall -Wextra -Werror and run under ASan/UBSan and valgrind
 * by ../run-c-tests.sh. Usage: test_abi path/to/shop.yaml
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#ifndef GW_EXPECTED_VERSION
#error "build with -DGW_EXPECTED_VERSION=\"x.y.z\" (the version in Cargo.toml)"
#endif

static int failures = 0;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            failures++;                                                             \
        }                                                                           \
    } while (0)

#define STR(s) ((const uint8_t *)(s)), strlen(s)

static gw_slice slice(const char *s) {
    gw_slice out = {(const uint8_t *)s, strlen(s)};
    return out;
}

static int eq(gw_slice s, const char *text) {
    size_t n = strlen(text);
    return s.data != NULL && s.len == n && memcmp(s.data, text, n) == 0;
}

static int contains(const uint8_t *data, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(data + i, needle, n) == 0) return 1;
    }
    return 0;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)size + 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

static void test_version(void) {
    char built[32];
    snprintf(built, sizeof built, "%d.%d.%d", GW_VERSION_MAJOR, GW_VERSION_MINOR,
             GW_VERSION_PATCH);
    CHECK(strcmp(built, GW_VERSION) == 0);
    CHECK(strcmp(GW_VERSION, GW_EXPECTED_VERSION) == 0);
    CHECK(eq(gw_version(), GW_VERSION));
}

static void test_results(void) {
    uint8_t buf[64];
    size_t n = 0;
    CHECK(gw_result_describe(GW_RESULT_OK, buf, sizeof buf, &n) == GW_RESULT_OK);
    CHECK(n == strlen("success") && memcmp(buf, "success", n) == 0);
    CHECK(gw_result_describe(GW_RESULT_PANIC, buf, sizeof buf, &n) == GW_RESULT_OK);
    CHECK(gw_result_describe(12345, buf, sizeof buf, &n) == GW_RESULT_OK);
    CHECK(n == strlen("unknown result code"));
    n = 99;
    CHECK(gw_result_describe(GW_RESULT_OK, buf, 3, &n) == GW_RESULT_BUFFER_TOO_SMALL);
    CHECK(n == 99); /* out-params untouched on failure */
    CHECK(gw_result_describe(GW_RESULT_OK, NULL, 0, &n) == GW_RESULT_BUFFER_TOO_SMALL);
    CHECK(gw_result_describe(GW_RESULT_OK, NULL, 10, &n) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_result_describe(GW_RESULT_OK, buf, sizeof buf, NULL) == GW_RESULT_NULL_PARAMETER);
    /* the stable numbers */
    CHECK(GW_RESULT_OK == 0 && GW_RESULT_NULL_PARAMETER == 100 && GW_RESULT_INVALID_UTF8 == 101);
    CHECK(GW_RESULT_INVALID_CONFIG == 200 && GW_RESULT_UNKNOWN_GATEWAY == 201);
    CHECK(GW_RESULT_AMBIGUOUS_GATEWAY == 202 && GW_RESULT_PANIC == 900);
}

static void test_load_errors(void) {
    gw_config *config = NULL;
    gw_error *error = NULL;

    /* NULL out-param, NULL input with a length */
    CHECK(gw_config_load(STR("{}"), NULL, NULL) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_config_load(NULL, 5, &config, &error) == GW_RESULT_NULL_PARAMETER);
    CHECK(config == NULL && error == NULL);

    /* zero-length input: an empty configuration, which has no Gateway */
    CHECK(gw_config_load(NULL, 0, &config, &error) == GW_RESULT_OK);
    CHECK(config != NULL && error == NULL);
    gw_router *router = NULL;
    CHECK(gw_router_build(config, NULL, 0, NULL, 0, &router, &error) ==
          GW_RESULT_AMBIGUOUS_GATEWAY);
    CHECK(router == NULL && gw_error_code(error) == GW_RESULT_AMBIGUOUS_GATEWAY);
    CHECK(gw_error_message(error).len > 0);
    CHECK(gw_error_diagnostic_count(error) == 0);
    gw_error_free(error);
    error = NULL;
    gw_config_free(config);
    config = NULL;

    /* invalid UTF-8 */
    const uint8_t bad[] = {'k', 'i', 'n', 'd', ':', ' ', 0xff, 0xfe, '\n'};
    CHECK(gw_config_load(bad, sizeof bad, &config, &error) == GW_RESULT_INVALID_CONFIG);
    CHECK(config == NULL && error != NULL);
    CHECK(contains(gw_error_message(error).data, gw_error_message(error).len, "not UTF-8"));
    gw_error_free(error);
    error = NULL;

    /* not YAML */
    CHECK(gw_config_load(STR("{{{: ]"), &config, &error) == GW_RESULT_INVALID_CONFIG);
    gw_error_free(error);
    error = NULL;

    /* an invalid resource: the diagnostic names the resource and the field path */
    const char *invalid =
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
        "metadata: {name: broken, namespace: shop}\n"
        "spec: {rules: [{matches: [{path: {type: PathPrefix, value: no-slash}}]}]}\n";
    CHECK(gw_config_load(STR(invalid), &config, &error) == GW_RESULT_INVALID_CONFIG);
    CHECK(config == NULL);
    CHECK(gw_error_code(error) == GW_RESULT_INVALID_CONFIG);
    size_t count = gw_error_diagnostic_count(error);
    CHECK(count >= 1);
    gw_diagnostic d;
    memset(&d, 0, sizeof d);
    CHECK(gw_error_diagnostic(error, 0, &d) == GW_RESULT_OK);
    CHECK(d.is_error && eq(d.kind, "HTTPRoute") && eq(d.ns, "shop") && eq(d.name, "broken"));
    CHECK(d.path.len > 0 && memcmp(d.path.data, "spec.rules[0]", 13) == 0);
    CHECK(d.message.len > 0 && d.document == 0);
    CHECK(gw_error_diagnostic(error, count, &d) == GW_RESULT_OUT_OF_RANGE);
    CHECK(gw_error_diagnostic(error, 0, NULL) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_error_diagnostic(NULL, 0, &d) == GW_RESULT_NULL_PARAMETER);
    gw_error_free(error);
    error = NULL;

    /* without error_out, errors are still reported by code */
    CHECK(gw_config_load(STR(invalid), &config, NULL) == GW_RESULT_INVALID_CONFIG);

    /* huge input: over the default limit of 102,400,000 bytes (1 KiB a resource) */
    size_t huge_len = (size_t)102400000 + 1;
    char *huge = malloc(huge_len);
    memset(huge, '#', huge_len);
    CHECK(gw_config_load((const uint8_t *)huge, huge_len, &config, &error) ==
          GW_RESULT_INVALID_CONFIG);
    CHECK(contains(gw_error_message(error).data, gw_error_message(error).len, "limit max_bytes"));
    gw_error_free(error);
    error = NULL;
    free(huge);

    /* NULL handles everywhere */
    CHECK(gw_error_code(NULL) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_error_message(NULL).data == NULL && gw_error_message(NULL).len == 0);
    CHECK(gw_error_diagnostic_count(NULL) == 0);
    CHECK(gw_config_status_json(NULL, NULL) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_buffer_data(NULL) == NULL && gw_buffer_len(NULL) == 0);
    gw_error_free(NULL);
    gw_config_free(NULL);
    gw_buffer_free(NULL);
    gw_config_options_free(NULL);
}

static void test_options(const char *shop, size_t shop_len) {
    gw_config_options *options = gw_config_options_new();
    CHECK(options != NULL);
    CHECK(gw_config_options_set_controller_name(options, STR("example.org/other")) == GW_RESULT_OK);
    CHECK(gw_config_options_add_address(options, STR("192.0.2.1")) == GW_RESULT_OK);
    CHECK(gw_config_options_set_strict(options, true) == GW_RESULT_OK);
    const uint8_t bad[] = {0xc3, 0x28};
    CHECK(gw_config_options_add_address(options, bad, sizeof bad) == GW_RESULT_INVALID_UTF8);
    CHECK(gw_config_options_set_controller_name(options, NULL, 3) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_config_options_set_controller_name(NULL, STR("x")) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_config_options_set_strict(NULL, false) == GW_RESULT_NULL_PARAMETER);

    /* shop.yaml's GatewayClass belongs to the default controller, not to example.org/other */
    gw_config *config = NULL;
    gw_error *error = NULL;
    CHECK(gw_config_load_with_options(options, (const uint8_t *)shop, shop_len, &config, &error) ==
          GW_RESULT_OK);
    gw_router *router = NULL;
    CHECK(gw_router_build(config, STR("shop"), STR("shop"), &router, &error) ==
          GW_RESULT_UNKNOWN_GATEWAY);
    CHECK(router == NULL && gw_error_code(error) == GW_RESULT_UNKNOWN_GATEWAY);
    gw_error_free(error);
    gw_config_free(config);
    gw_config_options_free(options);

    /* Load limits: a limit hit fails the load with a message naming the limit. */
    options = gw_config_options_new();
    CHECK(options != NULL);
    CHECK(gw_config_options_set_max_resources(options, 1000) == GW_RESULT_OK);
    CHECK(gw_config_options_set_max_bytes(options, 1 << 20) == GW_RESULT_OK);
    CHECK(gw_config_options_set_max_documents(options, 100) == GW_RESULT_OK);
    CHECK(gw_config_options_set_max_depth(options, 32) == GW_RESULT_OK);
    CHECK(gw_config_options_set_max_yaml_aliases(options, 10) == GW_RESULT_OK);
    CHECK(gw_config_options_set_max_yaml_alias_events(options, 1000) == GW_RESULT_OK);
    CHECK(gw_config_options_set_max_yaml_nodes(options, 10) == GW_RESULT_OK);
    CHECK(gw_config_options_set_max_yaml_nodes(NULL, 10) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_config_options_set_max_resources(NULL, 10) == GW_RESULT_NULL_PARAMETER);
    config = NULL;
    error = NULL;
    CHECK(gw_config_load_with_options(options, (const uint8_t *)shop, shop_len, &config, &error) ==
          GW_RESULT_INVALID_CONFIG);
    CHECK(config == NULL && error != NULL);
    CHECK(contains(gw_error_message(error).data, gw_error_message(error).len,
                   "limit max_yaml_nodes"));
    gw_error_free(error);
    gw_config_options_free(options);
}

typedef struct expect {
    const char *method, *target, *host;
    const char *extra_name, *extra_value;
    gw_outcome outcome;
    uint16_t status;
    const char *rule, *backend, *path;
} expect;

static gw_decision *route(const gw_router *router, const char *method, const char *target,
                          const char *host, const char *name, const char *value) {
    gw_header headers[2];
    size_t n = 0;
    if (host) headers[n++] = (gw_header){slice("host"), slice(host)};
    if (name) headers[n++] = (gw_header){slice(name), slice(value)};
    gw_request req;
    memset(&req, 0, sizeof req);
    req.method = slice(method);
    req.target = slice(target);
    req.headers = headers;
    req.headers_len = n;
    req.port = 80;
    gw_decision *d = NULL;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    return d;
}

static void test_routing(const gw_router *router) {
    static const expect cases[] = {
        {"GET", "/", "shop.example.com", NULL, NULL, GW_OUTCOME_FORWARD, 0, "web", "web", "/"},
        {"POST", "/checkout/pay", "shop.example.com", NULL, NULL, GW_OUTCOME_FORWARD, 0,
         "checkout", "checkout", "/checkout/pay"},
        {"GET", "/checkout", "shop.example.com", NULL, NULL, GW_OUTCOME_FORWARD, 0, "web", "web",
         "/checkout"},
        {"GET", "/api/x?y=1", "shop.example.com", "x-api-version", "2", GW_OUTCOME_FORWARD, 0,
         "api-v2", "api-v2", "/api/x?y=1"},
        {"GET", "/api/a/../b//c", "SHOP.example.com.", NULL, NULL, GW_OUTCOME_FORWARD, 0, "api",
         "api-v1", "/api/b/c"},
        {"GET", "/", "other.example.com", NULL, NULL, GW_OUTCOME_FORWARD, 0, "landing", "web", "/"},
        {"GET", "/", "shop.example.org", NULL, NULL, GW_OUTCOME_NOT_FOUND, 404, NULL, NULL, NULL},
        {"GET", "/%2e%2e/%2Fadmin", "shop.example.com", NULL, NULL, GW_OUTCOME_BAD_REQUEST, 400,
         NULL, NULL, NULL},
        {"GET", "/#frag", "shop.example.com", NULL, NULL, GW_OUTCOME_BAD_REQUEST, 400, NULL, NULL,
         NULL},
        {"GET", "/", NULL, NULL, NULL, GW_OUTCOME_BAD_REQUEST, 400, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const expect *c = &cases[i];
        gw_decision *d = route(router, c->method, c->target, c->host, c->extra_name, c->extra_value);
        if (gw_decision_outcome(d) != c->outcome || gw_decision_status(d) != c->status) {
            gw_slice reason = gw_decision_reason(d);
            fprintf(stderr, "case %zu: outcome %u status %u reason %.*s\n", i,
                    (unsigned)gw_decision_outcome(d), (unsigned)gw_decision_status(d),
                    (int)reason.len, (const char *)reason.data);
            failures++;
        }
        gw_route_match m;
        gw_backend b;
        if (c->rule) {
            CHECK(gw_decision_route(d, &m));
            CHECK(m.kind == GW_ROUTE_KIND_HTTP && eq(m.ns, "shop") && eq(m.rule_name, c->rule));
            CHECK(gw_decision_backend(d, &b));
            CHECK(eq(b.name, c->backend) && eq(b.ns, "shop") && b.port == 8080);
            CHECK(eq(gw_decision_path(d), c->path));
            CHECK(eq(gw_decision_listener(d), "http"));
            CHECK(gw_decision_reason(d).data == NULL);
            CHECK(gw_decision_location(d).data == NULL);
            CHECK(gw_decision_local_header_count(d) == 0);
            gw_timeouts t;
            CHECK(gw_decision_timeouts(d, &t) && t.request.kind == GW_TIMEOUT_KIND_UNSET);
            gw_retry r;
            CHECK(!gw_decision_retry(d, &r));
        } else {
            CHECK(!gw_decision_route(d, &m));
            CHECK(!gw_decision_backend(d, &b));
            CHECK(gw_decision_path(d).data == NULL);
            CHECK(gw_decision_reason(d).len > 0);
            CHECK(gw_decision_local_body(d).len == 0);
        }
        CHECK(gw_decision_request_edit_count(d) == 0);
        CHECK(gw_decision_response_edit_count(d) == 0);
        CHECK(gw_decision_mirror_count(d) == 0);
        gw_decision_free(d);
    }

    /* weighted backends: the random value picks api-v1 (90) or api-v2 (10) */
    gw_request req;
    memset(&req, 0, sizeof req);
    gw_header host = {slice("host"), slice("shop.example.com")};
    req.method = slice("GET");
    req.target = slice("/api");
    req.headers = &host;
    req.headers_len = 1;
    req.port = 80;
    req.random = UINT64_MAX;
    gw_decision *d = NULL;
    gw_backend b;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_backend(d, &b) && eq(b.name, "api-v2") && eq(b.app_protocol, "kubernetes.io/h2c"));
    gw_decision_free(d);

    /* HTTP/2 :authority, https scheme, and an SNI that selects the same listener */
    req.headers_len = 0;
    req.authority = slice("shop.example.com");
    req.scheme = slice("https");
    req.sni = slice("shop.example.com");
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_FORWARD);
    CHECK(eq(gw_decision_host(d), "shop.example.com"));
    gw_decision_free(d);

    /* another port: no listener */
    req.port = 8443;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_NOT_FOUND && gw_decision_status(d) == 404);
    gw_decision_free(d);
}

/* The cause tells why the proxy answers itself: switch on it, never on the reason text. */
static void test_causes(const gw_router *router) {
    static const struct {
        const char *method, *target, *host;
        uint16_t port;
        gw_outcome outcome;
        gw_cause cause;
    } cases[] = {
        {"GET", "/", "shop.example.com", 80, GW_OUTCOME_FORWARD, GW_CAUSE_NONE},
        {"GET", "/", "shop.example.org", 80, GW_OUTCOME_NOT_FOUND, GW_CAUSE_NO_LISTENER_FOR_HOST},
        {"GET", "/", "shop.example.com", 8443, GW_OUTCOME_NOT_FOUND, GW_CAUSE_NO_LISTENER_ON_PORT},
        {"GET", "/", NULL, 80, GW_OUTCOME_BAD_REQUEST, GW_CAUSE_INVALID_HOST},
        {"GET", "/", "shop example com", 80, GW_OUTCOME_BAD_REQUEST, GW_CAUSE_INVALID_HOST},
        {"GET", "/#frag", "shop.example.com", 80, GW_OUTCOME_BAD_REQUEST, GW_CAUSE_INVALID_TARGET},
        {"GET", "*", "shop.example.com", 80, GW_OUTCOME_BAD_REQUEST,
         GW_CAUSE_UNSUPPORTED_TARGET_FORM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gw_header host = {slice("host"), slice(cases[i].host ? cases[i].host : "")};
        gw_request req;
        memset(&req, 0, sizeof req);
        req.method = slice(cases[i].method);
        req.target = slice(cases[i].target);
        req.headers = &host;
        req.headers_len = cases[i].host ? 1 : 0;
        req.port = cases[i].port;
        gw_decision *d = NULL;
        CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
        if (gw_decision_outcome(d) != cases[i].outcome || gw_decision_cause(d) != cases[i].cause) {
            gw_slice reason = gw_decision_reason(d);
            fprintf(stderr, "cause case %zu: outcome %u cause %u reason %.*s\n", i,
                    (unsigned)gw_decision_outcome(d), (unsigned)gw_decision_cause(d),
                    (int)reason.len, (const char *)reason.data);
            failures++;
        }
        gw_decision_free(d);
    }

    /* a method that is not UTF-8 */
    const uint8_t bad[] = {0xff, 0xfe};
    gw_header host = {slice("host"), slice("shop.example.com")};
    gw_request req;
    memset(&req, 0, sizeof req);
    req.method = (gw_slice){bad, sizeof bad};
    req.target = slice("/");
    req.headers = &host;
    req.headers_len = 1;
    req.port = 80;
    gw_decision *d = NULL;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_cause(d) == GW_CAUSE_MALFORMED_REQUEST);
    gw_decision_free(d);

    /* the numbers are the stable ones of the header: blocks by outcome */
    CHECK(GW_CAUSE_NONE == 0 && GW_CAUSE_NO_LISTENER_ON_PORT == 101 && GW_CAUSE_NO_RULE == 104);
    CHECK(GW_CAUSE_INVALID_HOST == 206 && GW_CAUSE_INVALID_BACKEND == 302);
    CHECK(GW_CAUSE_BACKEND_TLS_UNVERIFIABLE == 306 && GW_CAUSE_BODY_TOO_LARGE == 403);

    /* NULL: the fail-closed pair */
    CHECK(gw_decision_outcome(NULL) == GW_OUTCOME_SERVER_ERROR);
    CHECK(gw_decision_cause(NULL) == GW_CAUSE_PROXY);
}

static void test_bad_requests(const gw_router *router) {
    const uint8_t bad[] = {0xff, 0x80, 0x00};
    gw_request req;
    gw_decision *d = NULL;
    gw_header host = {slice("host"), slice("shop.example.com")};

    /* invalid UTF-8 in method, scheme, authority, SNI: a 400 decision, not an error */
    for (int field = 0; field < 4; field++) {
        memset(&req, 0, sizeof req);
        req.method = slice("GET");
        req.target = slice("/");
        req.headers = &host;
        req.headers_len = 1;
        req.port = 80;
        gw_slice b = {bad, sizeof bad};
        if (field == 0) req.method = b;
        if (field == 1) req.scheme = b;
        if (field == 2) req.authority = b;
        if (field == 3) req.sni = b;
        CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
        CHECK(gw_decision_outcome(d) == GW_OUTCOME_BAD_REQUEST && gw_decision_status(d) == 400);
        CHECK(!gw_decision_route(d, &(gw_route_match){0}));
        gw_decision_free(d);
    }

    /* invalid bytes in the target and in header values: routed as bytes, rejected by rules */
    memset(&req, 0, sizeof req);
    req.method = slice("GET");
    req.target = (gw_slice){bad, sizeof bad};
    req.headers = &host;
    req.headers_len = 1;
    req.port = 80;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_BAD_REQUEST);
    gw_decision_free(d);
    gw_header weird[2] = {host, {slice("x-api-version"), {bad, sizeof bad}}};
    req.target = slice("/api");
    req.headers = weird;
    req.headers_len = 2;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    gw_decision_free(d);

    /* a NUL in the Host */
    gw_header nul_host = {slice("host"), {(const uint8_t *)"a\0b", 3}};
    req.headers = &nul_host;
    req.headers_len = 1;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_BAD_REQUEST);
    gw_decision_free(d);

    /* zero-length everything: empty method, empty target, no headers */
    memset(&req, 0, sizeof req);
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_NOT_FOUND); /* port 0 has no listener */
    gw_decision_free(d);
    req.port = 80;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_BAD_REQUEST);
    gw_decision_free(d);

    /* NULL pointers with lengths: argument errors, decision_out untouched */
    gw_decision *untouched = (gw_decision *)&req;
    gw_decision *out = untouched;
    memset(&req, 0, sizeof req);
    req.port = 80;
    req.method.len = 3;
    CHECK(gw_router_route(router, &req, &out) == GW_RESULT_NULL_PARAMETER && out == untouched);
    req.method.len = 0;
    req.headers_len = 2;
    CHECK(gw_router_route(router, &req, &out) == GW_RESULT_NULL_PARAMETER && out == untouched);
    gw_header null_value = {slice("host"), {NULL, 4}};
    req.headers = &null_value;
    req.headers_len = 1;
    CHECK(gw_router_route(router, &req, &out) == GW_RESULT_NULL_PARAMETER && out == untouched);
    req.headers_len = 0;
    req.sni.len = 1;
    CHECK(gw_router_route(router, &req, &out) == GW_RESULT_NULL_PARAMETER && out == untouched);
    req.sni.len = 0;
    CHECK(gw_router_route(NULL, &req, &out) == GW_RESULT_NULL_PARAMETER && out == untouched);
    CHECK(gw_router_route(router, NULL, &out) == GW_RESULT_NULL_PARAMETER && out == untouched);
    CHECK(gw_router_route(router, &req, NULL) == GW_RESULT_NULL_PARAMETER);

    /* huge inputs: a 1 MiB target, 10,000 headers, a 1 MiB header value */
    size_t big = 1u << 20;
    char *huge = malloc(big);
    memset(huge, 'a', big);
    huge[0] = '/';
    memset(&req, 0, sizeof req);
    req.method = slice("GET");
    req.target = (gw_slice){(const uint8_t *)huge, big};
    req.headers = &host;
    req.headers_len = 1;
    req.port = 80;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_BAD_REQUEST && gw_decision_status(d) == 414);
    gw_decision_free(d);

    size_t many = 10000;
    gw_header *headers = calloc(many, sizeof *headers);
    headers[0] = host;
    for (size_t i = 1; i < many; i++) headers[i] = (gw_header){slice("x-filler"), slice("1")};
    req.target = slice("/");
    req.headers = headers;
    req.headers_len = many;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) != GW_OUTCOME_FORWARD || gw_decision_status(d) == 0);
    gw_decision_free(d);
    headers[1] = (gw_header){slice("x-api-version"), {(const uint8_t *)huge, big}};
    req.headers_len = 40; /* more than the 32 kept on the stack */
    req.target = slice("/api");
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    gw_decision_free(d);
    free(headers);
    free(huge);

    /* accessors on NULL: fail closed, never crash */
    CHECK(gw_decision_outcome(NULL) == GW_OUTCOME_SERVER_ERROR);
    CHECK(gw_decision_status(NULL) == 500);
    CHECK(gw_decision_reason(NULL).data == NULL);
    CHECK(gw_decision_listener(NULL).data == NULL);
    CHECK(!gw_decision_route(NULL, NULL));
    CHECK(!gw_decision_backend(NULL, NULL));
    CHECK(gw_decision_mirror_count(NULL) == 0 && !gw_decision_mirror(NULL, 0, NULL));
    CHECK(gw_decision_request_edit_count(NULL) == 0 && !gw_decision_request_edit(NULL, 0, NULL));
    CHECK(gw_decision_response_edit_count(NULL) == 0 && !gw_decision_response_edit(NULL, 0, NULL));
    CHECK(gw_decision_path(NULL).data == NULL && gw_decision_host(NULL).data == NULL);
    CHECK(gw_decision_authority_rewrite(NULL).data == NULL);
    CHECK(gw_decision_location(NULL).data == NULL);
    CHECK(gw_decision_local_header_count(NULL) == 0 && !gw_decision_local_header(NULL, 0, NULL));
    CHECK(gw_decision_local_body(NULL).data == NULL);
    CHECK(!gw_decision_timeouts(NULL, NULL));
    CHECK(!gw_decision_retry(NULL, NULL));
    gw_decision_free(NULL);
}

static const char *FILTERS =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: gc}\n"
    "spec: {controllerName: gateway.example.dev/gateway-core}\n---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: default}\n"
    "spec:\n  gatewayClassName: gc\n  listeners: [{name: web, port: 8080, protocol: HTTP}]\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: default}\n"
    "spec: {ports: [{port: 80}]}\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata: {name: shadow, namespace: default}\n"
    "spec: {ports: [{port: 81}]}\n---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r, namespace: default}\n"
    "spec:\n"
    "  parentRefs: [{name: gw}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: PathPrefix, value: /old}}]\n"
    "    filters:\n"
    "    - type: RequestRedirect\n"
    "      requestRedirect: {hostname: new.example.com, statusCode: 301}\n"
    "  - name: edits\n"
    "    matches: [{path: {type: PathPrefix, value: /v1}}]\n"
    "    timeouts: {request: 2s}\n"
    "    retry: {codes: [503, 504], attempts: 2, backoff: 100ms}\n"
    "    sessionPersistence: {sessionName: sid, absoluteTimeout: 1h, cookieConfig: {lifetimeType: Permanent}}\n"
    "    filters:\n"
    "    - type: RequestHeaderModifier\n"
    "      requestHeaderModifier:\n"
    "        set: [{name: X-Set, value: s}]\n"
    "        add: [{name: X-Add, value: a}]\n"
    "        remove: [x-remove]\n"
    "    - type: ResponseHeaderModifier\n"
    "      responseHeaderModifier: {add: [{name: X-Served-By, value: gateway}], remove: [server]}\n"
    "    - type: URLRewrite\n"
    "      urlRewrite: {hostname: internal.example, path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2}}\n"
    "    - type: RequestMirror\n"
    "      requestMirror: {backendRef: {name: shadow, port: 81}}\n"
    "    backendRefs: [{name: app, port: 80}, {name: shadow, port: 81, weight: 0}]\n"
    "  - matches: [{path: {type: PathPrefix, value: /broken}}]\n"
    "    backendRefs: [{name: missing, port: 80}]\n"
    "---\napiVersion: gateway.networking.x-k8s.io/v1alpha1\nkind: XBackendTrafficPolicy\n"
    "metadata: {name: budget, namespace: default}\n"
    "spec:\n  targetRefs: [{group: \"\", kind: Service, name: app}]\n"
    "  retryConstraint: {budget: {percent: 25, interval: 5s}, minRetryRate: {count: 2, interval: 1s}}\n";

static void test_filters(void) {
    gw_config *config = NULL;
    gw_error *error = NULL;
    CHECK(gw_config_load(STR(FILTERS), &config, &error) == GW_RESULT_OK);
    if (error) {
        gw_slice m = gw_error_message(error);
        fprintf(stderr, "%.*s\n", (int)m.len, (const char *)m.data);
        gw_error_free(error);
        return;
    }
    gw_router *router = NULL;
    /* an empty name selects the only Gateway; a wrong name is an error naming the known ones */
    CHECK(gw_router_build(config, STR("default"), STR("nope"), &router, &error) ==
          GW_RESULT_UNKNOWN_GATEWAY);
    CHECK(contains(gw_error_message(error).data, gw_error_message(error).len, "default/gw"));
    gw_error_free(error);
    error = NULL;
    const uint8_t bad[] = {0xff};
    CHECK(gw_router_build(config, bad, 1, NULL, 0, &router, &error) == GW_RESULT_INVALID_UTF8);
    CHECK(gw_error_code(error) == GW_RESULT_INVALID_UTF8);
    gw_error_free(error);
    error = NULL;
    CHECK(gw_router_build(config, NULL, 1, NULL, 0, &router, &error) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_router_build(NULL, NULL, 0, NULL, 0, &router, &error) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_router_build(config, NULL, 0, NULL, 0, NULL, &error) == GW_RESULT_NULL_PARAMETER);
    CHECK(error == NULL);
    CHECK(gw_router_build(config, NULL, 0, NULL, 0, &router, &error) == GW_RESULT_OK);
    gw_config_free(config); /* the router does not need the configuration */

    gw_header headers[3] = {{slice("host"), slice("any.example")},
                            {slice("X-Remove"), slice("1")},
                            {slice("x-add"), slice("first")}};
    gw_request req;
    memset(&req, 0, sizeof req);
    req.method = slice("GET");
    req.target = slice("/old/page?q=1");
    req.headers = headers;
    req.headers_len = 3;
    req.port = 8080;
    gw_decision *d = NULL;

    /* redirect */
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_REDIRECT && gw_decision_status(d) == 301);
    CHECK(gw_decision_cause(d) == GW_CAUSE_NONE);
    CHECK(eq(gw_decision_location(d), "http://new.example.com:8080/old/page?q=1") ||
          eq(gw_decision_location(d), "http://new.example.com/old/page?q=1"));
    CHECK(gw_decision_local_header_count(d) >= 1);
    gw_header h;
    CHECK(gw_decision_local_header(d, 0, &h) && eq(h.name, "location"));
    CHECK(!gw_decision_local_header(d, 99, &h));
    CHECK(!gw_decision_backend(d, &(gw_backend){0}));
    gw_decision_free(d);

    /* a backendRef to a Service that does not exist: 500, GW_CAUSE_INVALID_BACKEND */
    req.target = slice("/broken");
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_SERVER_ERROR && gw_decision_status(d) == 500);
    CHECK(gw_decision_cause(d) == GW_CAUSE_INVALID_BACKEND);
    CHECK(!gw_decision_backend(d, &(gw_backend){0}));
    gw_decision_free(d);

    /* a path no rule matches: 404, GW_CAUSE_NO_RULE */
    req.target = slice("/nothing-here");
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_NOT_FOUND);
    CHECK(gw_decision_cause(d) == GW_CAUSE_NO_RULE);
    gw_decision_free(d);

    /* header edits, rewrites, mirrors, timeouts */
    req.target = slice("/v1/items?x=y");
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_FORWARD);
    CHECK(eq(gw_decision_path(d), "/v2/items?x=y"));
    CHECK(eq(gw_decision_authority_rewrite(d), "internal.example"));
    CHECK(gw_decision_request_edit_count(d) == 3);
    gw_header_edit e;
    CHECK(gw_decision_request_edit(d, 0, &e) && e.op == GW_HEADER_OP_SET && eq(e.name, "x-set") &&
          eq(e.value, "s"));
    CHECK(gw_decision_request_edit(d, 1, &e) && e.op == GW_HEADER_OP_ADD && eq(e.name, "x-add") &&
          eq(e.value, "a"));
    CHECK(gw_decision_request_edit(d, 2, &e) && e.op == GW_HEADER_OP_REMOVE &&
          eq(e.name, "x-remove") && e.value.len == 0);
    CHECK(!gw_decision_request_edit(d, 3, &e));
    CHECK(!gw_decision_request_edit(d, 0, NULL));
    CHECK(gw_decision_response_edit_count(d) == 2);
    CHECK(gw_decision_response_edit(d, 0, &e) && e.op == GW_HEADER_OP_ADD &&
          eq(e.name, "x-served-by"));
    CHECK(gw_decision_response_edit(d, 1, &e) && e.op == GW_HEADER_OP_REMOVE && eq(e.name, "server"));
    CHECK(gw_decision_mirror_count(d) == 1);
    gw_backend b;
    CHECK(gw_decision_mirror(d, 0, &b) && eq(b.name, "shadow") && b.port == 81);
    CHECK(!gw_decision_mirror(d, 1, &b));
    gw_route_match m;
    CHECK(gw_decision_route(d, &m) && m.rule_index == 1 && eq(m.rule_name, "edits") && eq(m.name, "r"));
    gw_timeouts t;
    CHECK(gw_decision_timeouts(d, &t) && t.request.kind == GW_TIMEOUT_KIND_AFTER &&
          t.request.millis == 2000 && t.backend_request.kind == GW_TIMEOUT_KIND_UNSET);
    gw_retry retry;
    CHECK(gw_decision_retry(d, &retry) && retry.codes_len == 2 && retry.codes[0] == 503 &&
          retry.codes[1] == 504 && retry.attempts_set && retry.attempts == 2 &&
          retry.backoff_set && retry.backoff_millis == 100);
    CHECK(!gw_decision_retry(d, NULL));

    /* the Service's retry budget (XBackendTrafficPolicy) */
    gw_retry_budget budget;
    CHECK(gw_decision_retry_budget(d, &budget) && budget.percent == 25 &&
          budget.interval_millis == 5000 && budget.min_retries == 2 &&
          budget.min_retry_interval_millis == 1000);
    CHECK(gw_decision_retry_budget_allows(d, 0, 0, 1));    /* under the minimum rate */
    CHECK(!gw_decision_retry_budget_allows(d, 10, 5, 2));  /* 6 of 11 is over 25 % */
    CHECK(gw_decision_retry_budget_allows(d, 100, 10, 2)); /* 11 of 101 is within */
    CHECK(!gw_decision_retry_budget(d, NULL));

    /* session persistence: describe, issue, read back */
    gw_session s;
    CHECK(gw_decision_session(d, &s) && s.kind == GW_SESSION_KIND_COOKIE &&
          s.lifetime == GW_COOKIE_LIFETIME_PERMANENT && eq(s.name, "sid") &&
          s.absolute_timeout_set && s.absolute_timeout_millis == 3600000 && !s.idle_timeout_set &&
          eq(s.path, "/v1") && !s.secure && s.policy.data == NULL);
    uint8_t cookie[1024];
    size_t n = 0;
    CHECK(gw_decision_session_issue(d, 0, STR("10.0.0.1:80"), 100, 100, cookie, sizeof cookie, &n) ==
          GW_RESULT_OK);
    CHECK(n > 4 && memcmp(cookie, "sid=", 4) == 0 && contains(cookie, n, "; Path=/v1; Max-Age=3600;"));
    size_t token_len = 0;
    while (4 + token_len < n && cookie[4 + token_len] != ';') token_len++;
    gw_session_pin pin;
    CHECK(gw_decision_session_lookup(d, cookie + 4, token_len, 200, &pin) && pin.backend_index == 0 &&
          pin.endpoint.len == 11 && memcmp(pin.endpoint.data, "10.0.0.1:80", 11) == 0 &&
          pin.issued == 100);
    CHECK(!gw_decision_session_lookup(d, cookie + 4, token_len, 100 + 3600, &pin)); /* expired */
    CHECK(!gw_decision_session_lookup(d, cookie + 5, token_len - 1, 200, &pin));    /* damaged */
    CHECK(gw_decision_session_issue(d, 2, STR("e"), 1, 1, cookie, sizeof cookie, &n) ==
          GW_RESULT_OUT_OF_RANGE);
    CHECK(gw_decision_session_issue(d, 0, STR("a;b"), 1, 1, cookie, sizeof cookie, &n) ==
          GW_RESULT_OUT_OF_RANGE);
    CHECK(gw_decision_session_issue(d, 0, STR("e"), 1, 1, cookie, 4, &n) ==
          GW_RESULT_BUFFER_TOO_SMALL && n > 4);
    CHECK(gw_decision_session_issue(d, 0, STR("e"), 1, 1, cookie, sizeof cookie, NULL) ==
          GW_RESULT_NULL_PARAMETER);
    CHECK(!gw_decision_session(NULL, &s) && !gw_decision_session_lookup(NULL, NULL, 0, 0, NULL));

    /* a token pinning the weight-0 backendRef, presented with `now`: it chooses the backend */
    CHECK(gw_decision_session_issue(d, 1, STR("10.0.0.2:81"), 100, 100, cookie, sizeof cookie, &n) ==
          GW_RESULT_OK);
    size_t pinned_len = 0;
    while (pinned_len < n && cookie[pinned_len] != ';') pinned_len++;
    gw_header with_cookie[2] = {{slice("host"), slice("any.example")},
                                {slice("cookie"), {cookie, pinned_len}}};
    gw_request pinned = req;
    pinned.headers = with_cookie;
    pinned.headers_len = 2;
    pinned.now = 200;
    gw_decision *p = NULL;
    CHECK(gw_router_route(router, &pinned, &p) == GW_RESULT_OK);
    CHECK(gw_decision_outcome(p) == GW_OUTCOME_FORWARD);
    CHECK(gw_decision_backend(p, &b) && eq(b.name, "shadow") && b.port == 81);
    gw_decision_free(p);
    pinned.now = 100 + 3600; /* expired at now: the weighted draw */
    CHECK(gw_router_route(router, &pinned, &p) == GW_RESULT_OK);
    CHECK(gw_decision_backend(p, &b) && eq(b.name, "app"));
    gw_decision_free(p);
    pinned.now = 0; /* no time: no token is read */
    CHECK(gw_router_route(router, &pinned, &p) == GW_RESULT_OK);
    CHECK(gw_decision_backend(p, &b) && eq(b.name, "app"));
    gw_decision_free(p);

    /* the decision outlives the router */
    gw_router *clone = gw_router_clone(router);
    CHECK(clone == router);
    gw_router_free(clone);
    gw_router_free(router);
    CHECK(eq(gw_decision_listener(d), "web"));
    CHECK(gw_decision_route(d, &m) && eq(m.ns, "default"));
    gw_decision_free(d);
    CHECK(gw_router_clone(NULL) == NULL);
    gw_router_free(NULL);
}

static void test_json(const gw_router *router, const gw_config *config) {
    gw_buffer *out = NULL;
    const char *line = "{\"method\":\"POST\",\"target\":\"/checkout\","
                       "\"headers\":[[\"host\",\"shop.example.com\"]]}";
    CHECK(gw_route_json(router, STR(line), &out) == GW_RESULT_OK);
    CHECK(contains(gw_buffer_data(out), gw_buffer_len(out), "\"outcome\":\"forward\""));
    CHECK(contains(gw_buffer_data(out), gw_buffer_len(out), "\"name\":\"checkout\""));
    gw_buffer_free(out);

    /* malformed, invalid UTF-8, empty, huge: bad_request decisions */
    const uint8_t bad[] = {'{', '"', 0xff, '"', '}'};
    const struct {
        const uint8_t *data;
        size_t len;
    } inputs[] = {{(const uint8_t *)"{not json", 9}, {bad, sizeof bad}, {NULL, 0},
                  {(const uint8_t *)"{\"bogus\":1}", 11}};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        out = NULL;
        CHECK(gw_route_json(router, inputs[i].data, inputs[i].len, &out) == GW_RESULT_OK);
        CHECK(contains(gw_buffer_data(out), gw_buffer_len(out), "\"outcome\":\"bad_request\""));
        gw_buffer_free(out);
    }
    size_t big = (1u << 20) + 10;
    char *huge = malloc(big);
    memset(huge, ' ', big);
    huge[0] = '{';
    huge[big - 1] = '}';
    CHECK(gw_route_json(router, (const uint8_t *)huge, big, &out) == GW_RESULT_OK);
    CHECK(contains(gw_buffer_data(out), gw_buffer_len(out), "more than"));
    gw_buffer_free(out);
    free(huge);

    out = (gw_buffer *)&big;
    CHECK(gw_route_json(NULL, STR(line), &out) == GW_RESULT_NULL_PARAMETER);
    CHECK(gw_route_json(router, NULL, 3, &out) == GW_RESULT_NULL_PARAMETER);
    CHECK(out == (gw_buffer *)&big);
    CHECK(gw_route_json(router, STR(line), NULL) == GW_RESULT_NULL_PARAMETER);

    /* status JSON */
    gw_buffer *status = NULL;
    CHECK(gw_config_status_json(config, &status) == GW_RESULT_OK);
    CHECK(contains(gw_buffer_data(status), gw_buffer_len(status), "\"kind\": \"Gateway\""));
    CHECK(contains(gw_buffer_data(status), gw_buffer_len(status), "Accepted"));
    gw_buffer_free(status);
    CHECK(gw_config_status_json(config, NULL) == GW_RESULT_NULL_PARAMETER);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s shop.yaml\n", argv[0]);
        return 2;
    }
    size_t len = 0;
    char *shop = read_file(argv[1], &len);
    if (!shop) {
        perror(argv[1]);
        return 2;
    }
    test_version();
    test_results();
    test_load_errors();
    test_options(shop, len);

    gw_config *config = NULL;
    gw_error *error = NULL;
    CHECK(gw_config_load((const uint8_t *)shop, len, &config, &error) == GW_RESULT_OK);
    CHECK(error == NULL);
    gw_router *router = NULL;
    CHECK(gw_router_build(config, STR("shop"), STR("shop"), &router, &error) == GW_RESULT_OK);
    test_routing(router);
    test_causes(router);
    test_bad_requests(router);
    test_json(router, config);
    test_filters();
    gw_router_free(router);
    gw_config_free(config);
    free(shop);

    if (failures) {
        fprintf(stderr, "test_abi: %d checks failed\n", failures);
        return 1;
    }
    printf("test_abi: all checks passed\n");
    return 0;
}
