/*
 * The mesh (GAMMA) router through the C ABI: gw_config_options_set_mesh makes the mesh ours,
 * gw_router_build_mesh compiles it, and gw_router_route routes requests given with their mesh
 * inputs (gw_request.mesh): a Service destination by name, an address destination resolved
 * through the cluster IP, a consumer route for clients of its namespace, and a pass-through
 * when no route applies. Requests without mesh inputs, with bytes that are not UTF-8, or given
 * to a Gateway's router are bad requests; gw_route_json takes the same inputs as JSON. Built
 * with -Wall -Wextra -Werror and run under ASan/UBSan and valgrind by ../run-c-tests.sh.
 */
#include <stdio.h>
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

static const char MESH_YAML[] =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: echo, namespace: app}\n"
    "spec: {clusterIP: 10.96.0.7, ports: [{port: 80}]}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: echo-v2, namespace: app}\n"
    "spec: {clusterIP: 10.96.0.9, ports: [{port: 80}]}\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1\n"
    "kind: HTTPRoute\n"
    "metadata: {name: echo, namespace: app}\n"
    "spec:\n"
    "  parentRefs: [{group: '', kind: Service, name: echo, port: 80}]\n"
    "  rules:\n"
    "  - matches: [{path: {type: PathPrefix, value: /v2}}]\n"
    "    backendRefs: [{name: echo-v2, port: 80}]\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1\n"
    "kind: HTTPRoute\n"
    "metadata: {name: consumer, namespace: web}\n"
    "spec:\n"
    "  parentRefs: [{group: '', kind: Service, name: echo, namespace: app, port: 80}]\n"
    "  rules:\n"
    "  - backendRefs: [{name: echo, namespace: app, port: 80}]\n"
    "---\n"
    "apiVersion: gateway.networking.k8s.io/v1beta1\n"
    "kind: ReferenceGrant\n"
    "metadata: {name: web, namespace: app}\n"
    "spec:\n"
    "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: web}]\n"
    "  to: [{group: '', kind: Service}]\n";

static gw_slice slice(const char *s) {
    gw_slice out = {(const uint8_t *)s, strlen(s)};
    return out;
}

static int eq(gw_slice s, const char *text) {
    size_t n = strlen(text);
    return s.data != NULL && s.len == n && memcmp(s.data, text, n) == 0;
}

/* GET target with Host echo, on port 80, with `mesh` (NULL: none). */
static gw_decision *route(const gw_router *router, const char *target,
                          const gw_mesh_request *mesh) {
    gw_header host = {slice("host"), slice("echo")};
    gw_request req;
    memset(&req, 0, sizeof req);
    req.method = slice("GET");
    req.target = slice(target);
    req.headers = &host;
    req.headers_len = 1;
    req.port = 80;
    req.mesh = mesh;
    gw_decision *d = NULL;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_OK);
    return d;
}

static gw_mesh_request to_service(const char *client, const char *ns, const char *name) {
    gw_mesh_request m;
    memset(&m, 0, sizeof m);
    m.client_namespace = slice(client);
    if (ns != NULL) m.destination_namespace = slice(ns);
    m.destination_name = slice(name);
    return m; /* destination_port 0: the request's port */
}

static gw_mesh_request to_address(const char *client, const char *address, uint16_t port) {
    gw_mesh_request m;
    memset(&m, 0, sizeof m);
    m.client_namespace = slice(client);
    m.destination_address = slice(address);
    m.destination_port = port;
    return m;
}

static void check_forward(gw_decision *d, const char *route_name, const char *backend) {
    CHECK(d != NULL);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_FORWARD);
    CHECK(gw_decision_cause(d) == GW_CAUSE_NONE);
    gw_route_match m;
    CHECK(gw_decision_route(d, &m));
    CHECK(m.kind == GW_ROUTE_KIND_HTTP && eq(m.name, route_name));
    gw_backend b;
    CHECK(gw_decision_backend(d, &b));
    CHECK(eq(b.ns, "app") && eq(b.name, backend) && b.port == 80);
    gw_decision_free(d);
}

static void check_pass_through(gw_decision *d) {
    CHECK(d != NULL);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_PASS_THROUGH);
    CHECK(gw_decision_cause(d) == GW_CAUSE_NONE);
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
    CHECK(gw_decision_status(d) == 400);
    CHECK(gw_decision_cause(d) == GW_CAUSE_MALFORMED_REQUEST);
    gw_decision_free(d);
}

static int json_says(const gw_router *router, const char *line, const char *needle) {
    gw_buffer *out = NULL;
    CHECK(gw_route_json(router, (const uint8_t *)line, strlen(line), &out) == GW_RESULT_OK);
    const char *data = (const char *)gw_buffer_data(out);
    size_t len = gw_buffer_len(out), n = strlen(needle);
    int found = 0;
    for (size_t i = 0; data != NULL && i + n <= len && !found; i++) {
        found = memcmp(data + i, needle, n) == 0;
    }
    gw_buffer_free(out);
    return found;
}

int main(void) {
    size_t len = strlen(MESH_YAML);

    /* Without the mesh option (and no XMesh), the mesh is not ours: no mesh router. */
    gw_config *plain = NULL;
    CHECK(gw_config_load((const uint8_t *)MESH_YAML, len, &plain, NULL) == GW_RESULT_OK);
    gw_router *none = NULL;
    gw_error *error = NULL;
    CHECK(gw_router_build_mesh(plain, &none, &error) == GW_RESULT_INVALID_CONFIG);
    CHECK(none == NULL && error != NULL && gw_error_message(error).len > 0);
    gw_error_free(error);
    gw_config_free(plain);
    CHECK(gw_router_build_mesh(NULL, &none, NULL) == GW_RESULT_NULL_PARAMETER);

    gw_config_options *options = gw_config_options_new();
    CHECK(gw_config_options_set_mesh(options, true) == GW_RESULT_OK);
    CHECK(gw_config_options_set_mesh(NULL, true) == GW_RESULT_NULL_PARAMETER);
    gw_config *config = NULL;
    if (gw_config_load_with_options(options, (const uint8_t *)MESH_YAML, len, &config, &error) !=
        GW_RESULT_OK) {
        gw_slice m = gw_error_message(error);
        fprintf(stderr, "load: %.*s\n", (int)m.len, (const char *)m.data);
        gw_error_free(error);
        gw_config_options_free(options);
        return 1;
    }
    gw_config_options_free(options);
    gw_router *router = NULL;
    CHECK(gw_router_build_mesh(config, &router, NULL) == GW_RESULT_OK);
    gw_config_free(config); /* the router keeps what it needs */
    if (router == NULL) return 1;

    /* A Service destination by name (namespace given, then the client's). */
    gw_mesh_request m = to_service("app", "app", "echo");
    check_forward(route(router, "/v2/a", &m), "echo", "echo-v2");
    m = to_service("app", NULL, "echo");
    check_forward(route(router, "/v2", &m), "echo", "echo-v2");
    /* Producer routes only: no rule matches /v1 (404). */
    gw_decision *d = route(router, "/v1", &m);
    CHECK(gw_decision_outcome(d) == GW_OUTCOME_NOT_FOUND && gw_decision_status(d) == 404);
    gw_decision_free(d);

    /* An address destination: the cluster IP of app/echo (v4, port given). */
    m = to_address("app", "10.96.0.7", 80);
    check_forward(route(router, "/v2/b", &m), "echo", "echo-v2");
    /* A client of web: its consumer route wins over the producer route. */
    m = to_address("web", "10.96.0.7", 0);
    check_forward(route(router, "/v2/b", &m), "consumer", "echo");

    /* Pass-through: an address that is no Service's, a Service port without routes, a Service
     * without routes. */
    m = to_address("app", "10.96.0.8", 80);
    check_pass_through(route(router, "/v2", &m));
    m = to_address("app", "[fd00::8]", 80);
    check_pass_through(route(router, "/v2", &m));
    m = to_service("app", "app", "echo");
    m.destination_port = 8080;
    check_pass_through(route(router, "/v2", &m));
    m = to_service("app", "app", "echo-v2");
    check_pass_through(route(router, "/v2", &m));

    /* Bad requests: no mesh inputs, both name and address, neither, an address that is not
     * one, a client namespace that is not UTF-8. */
    check_bad_request(route(router, "/v2", NULL));
    m = to_service("app", "app", "echo");
    m.destination_address = slice("10.96.0.7");
    check_bad_request(route(router, "/v2", &m));
    memset(&m, 0, sizeof m);
    m.client_namespace = slice("app");
    check_bad_request(route(router, "/v2", &m));
    m = to_address("app", "10.96.0.", 80);
    check_bad_request(route(router, "/v2", &m));
    static const uint8_t not_utf8[] = {0xff, 'a'};
    m = to_service("app", "app", "echo");
    m.client_namespace.data = not_utf8;
    m.client_namespace.len = sizeof not_utf8;
    check_bad_request(route(router, "/v2", &m));
    /* A NULL slice with a length is an error, not a decision. */
    m = to_service("app", "app", "echo");
    m.destination_name.data = NULL;
    m.destination_name.len = 4;
    gw_header host = {slice("host"), slice("echo")};
    gw_request req;
    memset(&req, 0, sizeof req);
    req.method = slice("GET");
    req.target = slice("/");
    req.headers = &host;
    req.headers_len = 1;
    req.port = 80;
    req.mesh = &m;
    d = NULL;
    CHECK(gw_router_route(router, &req, &d) == GW_RESULT_NULL_PARAMETER && d == NULL);

    /* The JSON interface takes the same inputs. */
    CHECK(json_says(router,
                    "{\"client_namespace\":\"app\",\"destination\":{\"name\":\"echo\",\"port\":80},"
                    "\"target\":\"/v2\",\"headers\":[[\"host\",\"echo\"]]}",
                    "\"outcome\":\"forward\""));
    CHECK(json_says(router,
                    "{\"client_namespace\":\"app\",\"destination\":{\"address\":\"10.96.0.8\"},"
                    "\"target\":\"/v2\",\"headers\":[[\"host\",\"echo\"]]}",
                    "\"outcome\":\"pass_through\""));

    gw_router_free(router);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_mesh: all checks passed\n");
    return 0;
}
