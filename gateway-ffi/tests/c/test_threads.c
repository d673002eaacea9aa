/*
 * Several threads route with a shared router while the main thread swaps in new ones, SWAPS
 * times (the "thousands of swaps" under ASan; 20 under valgrind, which runs one thread
 * at a time).
 *
 * The published pointer is protected by a mutex held only to take a reference
 * (gw_router_clone); routing itself runs without any lock. Configuration number g routes every
 * request to the Service "g<g>", so each decision names the whole configuration that answered
 * it. Each thread checks that the numbers it sees never go backwards (a request is answered by
 * one whole configuration, old or new, never an older one after a newer), and keeps routing
 * after the last swap until it has seen the last configuration. Old routers are freed by
 * whichever holder drops the last reference; ASan's LeakSanitizer and valgrind check that
 * nothing is left.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#define THREADS 4
/* Overridable at run time (GW_SWAPS), so the valgrind run can do fewer. */
#define DEFAULT_SWAPS 2000

static const char *CONFIG_TEMPLATE =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: gc}\n"
    "spec: {controllerName: gateway.example.dev/gateway-core}\n---\n"
    "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: gw, namespace: ns}\n"
    "spec: {gatewayClassName: gc, listeners: [{name: web, port: 80, protocol: HTTP}]}\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata: {name: %s, namespace: ns}\nspec: {ports: [{port: 80}]}\n"
    "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
    "metadata: {name: app, namespace: ns}\n"
    "spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: %s, port: 80}]}]}\n";

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static gw_router *current = NULL;
static atomic_int routed = 0;
static atomic_int done = 0;
static int swaps = DEFAULT_SWAPS;
static atomic_int failures = 0;

static gw_router *build(int generation) {
    char service[32];
    snprintf(service, sizeof service, "g%d", generation);
    char yaml[2048];
    int n = snprintf(yaml, sizeof yaml, CONFIG_TEMPLATE, service, service);
    gw_config *config = NULL;
    gw_router *router = NULL;
    if (gw_config_load((const uint8_t *)yaml, (size_t)n, &config, NULL) != GW_RESULT_OK ||
        gw_router_build(config, NULL, 0, NULL, 0, &router, NULL) != GW_RESULT_OK) {
        fprintf(stderr, "cannot build the %s router\n", service);
        exit(1);
    }
    gw_config_free(config);
    return router;
}

static gw_router *acquire(void) {
    pthread_mutex_lock(&lock);
    gw_router *r = gw_router_clone(current);
    pthread_mutex_unlock(&lock);
    return r;
}

/* The configuration number in a backend name "g<digits>", or -1. */
static int generation_of(gw_slice name) {
    if (name.len < 2 || name.len > 10 || name.data[0] != 'g') {
        return -1;
    }
    int g = 0;
    for (size_t i = 1; i < name.len; i++) {
        if (name.data[i] < '0' || name.data[i] > '9') {
            return -1;
        }
        g = g * 10 + (name.data[i] - '0');
    }
    return g;
}

static void *worker(void *arg) {
    (void)arg;
    int last = 0;
    gw_header host = {{(const uint8_t *)"host", 4}, {(const uint8_t *)"app.example", 11}};
    for (uint64_t i = 0; !(atomic_load(&done) && last == swaps); i++) {
        gw_router *router = acquire();
        gw_request req;
        memset(&req, 0, sizeof req);
        req.method = (gw_slice){(const uint8_t *)"GET", 3};
        req.target = (gw_slice){(const uint8_t *)"/x", 2};
        req.headers = &host;
        req.headers_len = 1;
        req.port = 80;
        req.random = i * 0x9e3779b97f4a7c15ull;
        gw_decision *d = NULL;
        if (gw_router_route(router, &req, &d) != GW_RESULT_OK) {
            atomic_fetch_add(&failures, 1);
            gw_router_free(router);
            break;
        }
        gw_router_free(router); /* the decision keeps the router alive */
        gw_backend b;
        int g = gw_decision_backend(d, &b) ? generation_of(b.name) : -1;
        gw_decision_free(d);
        if (g < last) {
            fprintf(stderr, "configuration %d answered after configuration %d\n", g, last);
            atomic_fetch_add(&failures, 1);
            break;
        }
        last = g;
        atomic_fetch_add(&routed, 1);
        /* Let the swapping thread run: valgrind runs one thread at a time. */
        if ((i & 63) == 0) {
            sched_yield();
        }
    }
    return NULL;
}

int main(void) {
    const char *env = getenv("GW_SWAPS");
    if (env != NULL && atoi(env) > 0) {
        swaps = atoi(env);
    }
    current = build(0);
    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, worker, NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int g = 1; g <= swaps; g++) {
        gw_router *next = build(g);
        pthread_mutex_lock(&lock);
        gw_router *old = current;
        current = next;
        pthread_mutex_unlock(&lock);
        gw_router_free(old); /* in-flight readers still hold their own references */
        sched_yield();
    }
    atomic_store(&done, 1);
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    gw_router_free(current);
    if (atomic_load(&failures) != 0) {
        fprintf(stderr, "test_threads: %d failures, %d routed\n", atomic_load(&failures),
                atomic_load(&routed));
        return 1;
    }
    printf("test_threads: %d requests on %d threads across %d swaps, all checks passed\n",
           atomic_load(&routed), THREADS, swaps);
    return 0;
}
