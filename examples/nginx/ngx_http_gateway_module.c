/*
 * ngx_http_gateway_module: Kubernetes Gateway API routing for nginx, through gateway-core's C
 * ABI (include/gateway.h).
 *
 *   http {
 *       gateway_manifests /etc/nginx/gateway.yaml;   # Gateway API YAML/JSON, loaded at startup
 *       gateway_name      shop/shop;                 # namespace/name; omit for the only Gateway
 *       # gateway_controller_name example.com/gw;    # default gateway.example.dev/gateway-core
 *
 *       map $gateway_backend $gateway_upstream {     # Service port -> address (or upstream{})
 *           shop/web:8080 127.0.0.1:9001;
 *       }
 *       server {
 *           listen 80;
 *           location / {
 *               gateway on;
 *               proxy_pass http://$gateway_upstream$gateway_path;
 *               proxy_set_header Host $gateway_authority;
 *           }
 *       }
 *   }
 *
 * Per request (location rewrite phase) the module routes with gw_router_route: the connection's
 * local port selects the listeners, the raw request-target and headers as received select the
 * route and rule. Then:
 * - forward: request header edits are applied to the request headers nginx forwards;
 *   $gateway_path is the canonical (or rewritten) path and query to send upstream,
 *   $gateway_authority the Host to send (URLRewrite hostname, or the Host received),
 *   $gateway_backend the chosen Service port "namespace/name:port"; response header edits are
 *   applied by a header filter;
 * - redirect: answered here with the status and Location (and the other local headers);
 * - local response (e.g. CORS preflight): answered here;
 * - 400/404/414/421/431/500: answered here with nginx's error page.
 * Other variables: $gateway_route (namespace/name), $gateway_rule (rule name, or its index),
 * $gateway_listener, $gateway_outcome.
 *
 * Limits of this example: response edits act on the headers nginx keeps in its list, not on
 * the ones it generates itself (Server, Date, Content-Length, Content-Type); mirrors, timeouts
 * and weighted choices beyond the one draw per request are exposed by the ABI but not used here.
 * This module answers 500 itself, and never forwards unchecked, when a rule needs external
 * auth (GW_OUTCOME_AUTHORIZE) or its backend needs TLS: the ABI gives both (gw_decision_authorize,
 * gw_decision_verify_backend_chain), but a call to the auth Service needs an nginx subrequest
 * and proxy_pass cannot hand the backend's chain to our verifier. Proxies that can make those
 * calls use them as examples/c and the C tests in gateway-ffi/tests/c do.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <stdio.h>

#include "gateway.h"

typedef struct {
    ngx_str_t    manifests;
    ngx_str_t    gateway_namespace;
    ngx_str_t    gateway_name;
    ngx_str_t    controller_name;
    gw_router   *router;
} ngx_http_gateway_main_conf_t;

typedef struct {
    ngx_flag_t   enable;
} ngx_http_gateway_loc_conf_t;

typedef struct {
    gw_decision *decision;
} ngx_http_gateway_ctx_t;

enum {
    GW_VAR_ROUTE,
    GW_VAR_RULE,
    GW_VAR_BACKEND,
    GW_VAR_PATH,
    GW_VAR_AUTHORITY,
    GW_VAR_LISTENER,
    GW_VAR_OUTCOME,
};

static char *ngx_http_gateway_name(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static void *ngx_http_gateway_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gateway_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gateway_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child);
static ngx_int_t ngx_http_gateway_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_gateway_init(ngx_conf_t *cf);

static ngx_http_output_header_filter_pt ngx_http_next_header_filter;

static ngx_command_t ngx_http_gateway_commands[] = {

    { ngx_string("gateway_manifests"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gateway_main_conf_t, manifests),
      NULL },

    { ngx_string("gateway_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gateway_name,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gateway_controller_name"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gateway_main_conf_t, controller_name),
      NULL },

    { ngx_string("gateway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_gateway_loc_conf_t, enable),
      NULL },

      ngx_null_command
};

static ngx_http_module_t ngx_http_gateway_module_ctx = {
    ngx_http_gateway_add_variables,        /* preconfiguration */
    ngx_http_gateway_init,                 /* postconfiguration */
    ngx_http_gateway_create_main_conf,     /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_http_gateway_create_loc_conf,      /* create location configuration */
    ngx_http_gateway_merge_loc_conf        /* merge location configuration */
};

ngx_module_t ngx_http_gateway_module = {
    NGX_MODULE_V1,
    &ngx_http_gateway_module_ctx,          /* module context */
    ngx_http_gateway_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};

/* === configuration === */

static char *
ngx_http_gateway_name(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gateway_main_conf_t *gmcf = conf;
    ngx_str_t *value = cf->args->elts;
    u_char *slash;

    slash = ngx_strlchr(value[1].data, value[1].data + value[1].len, '/');
    if (slash == NULL) {
        gmcf->gateway_name = value[1];      /* namespace "default" */
        return NGX_CONF_OK;
    }
    gmcf->gateway_namespace.data = value[1].data;
    gmcf->gateway_namespace.len = slash - value[1].data;
    gmcf->gateway_name.data = slash + 1;
    gmcf->gateway_name.len = value[1].data + value[1].len - (slash + 1);
    return NGX_CONF_OK;
}

static void *
ngx_http_gateway_create_main_conf(ngx_conf_t *cf)
{
    return ngx_pcalloc(cf->pool, sizeof(ngx_http_gateway_main_conf_t));
}

static void *
ngx_http_gateway_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gateway_loc_conf_t *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gateway_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }
    conf->enable = NGX_CONF_UNSET;
    return conf;
}

static char *
ngx_http_gateway_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gateway_loc_conf_t *prev = parent;
    ngx_http_gateway_loc_conf_t *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    return NGX_CONF_OK;
}

static void
ngx_http_gateway_log_error(ngx_log_t *log, const char *what, gw_result rc, gw_error *error)
{
    size_t i, n;
    gw_diagnostic d;
    gw_slice message;

    n = gw_error_diagnostic_count(error);
    for (i = 0; i < n; i++) {
        if (gw_error_diagnostic(error, i, &d) != GW_RESULT_OK || !d.is_error) {
            continue;
        }
        ngx_log_error(NGX_LOG_EMERG, log, 0, "%s: %*s %*s/%*s: %*s: %*s", what,
                      d.kind.len, d.kind.data, d.ns.len, d.ns.data, d.name.len, d.name.data,
                      d.path.len, d.path.data, d.message.len, d.message.data);
    }
    if (n == 0) {
        message = gw_error_message(error);
        ngx_log_error(NGX_LOG_EMERG, log, 0, "%s failed (%ui): %*s", what, (ngx_uint_t) rc,
                      message.len, message.data);
    }
    gw_error_free(error);
}

static void
ngx_http_gateway_cleanup_router(void *data)
{
    gw_router_free(data);
}

/* Loads the manifests and builds the router once, at configuration time. */
static ngx_int_t
ngx_http_gateway_load(ngx_conf_t *cf, ngx_http_gateway_main_conf_t *gmcf)
{
    FILE *f;
    long size;
    u_char *text;
    gw_config *config = NULL;
    gw_config_options *options;
    gw_error *error = NULL;
    gw_result rc;
    ngx_pool_cleanup_t *cln;

    if (ngx_conf_full_name(cf->cycle, &gmcf->manifests, 1) != NGX_OK) {
        return NGX_ERROR;
    }
    f = fopen((const char *) gmcf->manifests.data, "rb");
    if (f == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, ngx_errno, "gateway_manifests: cannot open \"%V\"",
                      &gmcf->manifests);
        return NGX_ERROR;
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    rewind(f);
    text = ngx_pnalloc(cf->temp_pool, size > 0 ? (size_t) size : 1);
    if (size < 0 || text == NULL || fread(text, 1, (size_t) size, f) != (size_t) size) {
        fclose(f);
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0, "gateway_manifests: cannot read \"%V\"",
                      &gmcf->manifests);
        return NGX_ERROR;
    }
    fclose(f);

    options = gw_config_options_new();
    if (options == NULL) {
        return NGX_ERROR;
    }
    if (gmcf->controller_name.len) {
        gw_config_options_set_controller_name(options, gmcf->controller_name.data,
                                              gmcf->controller_name.len);
    }
    rc = gw_config_load_with_options(options, text, (size_t) size, &config, &error);
    gw_config_options_free(options);
    if (rc != GW_RESULT_OK) {
        ngx_http_gateway_log_error(cf->log, "gateway_manifests", rc, error);
        return NGX_ERROR;
    }
    rc = gw_router_build(config, gmcf->gateway_namespace.data, gmcf->gateway_namespace.len,
                         gmcf->gateway_name.data, gmcf->gateway_name.len, &gmcf->router, &error);
    gw_config_free(config);
    if (rc != GW_RESULT_OK) {
        ngx_http_gateway_log_error(cf->log, "gateway_name", rc, error);
        return NGX_ERROR;
    }
    /* Freed with the cycle: a reload builds a new router and frees the old one. */
    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        gw_router_free(gmcf->router);
        gmcf->router = NULL;
        return NGX_ERROR;
    }
    cln->handler = ngx_http_gateway_cleanup_router;
    cln->data = gmcf->router;
    ngx_log_error(NGX_LOG_NOTICE, cf->log, 0, "gateway: loaded \"%V\" (gateway-core %*s)",
                  &gmcf->manifests, gw_version().len, gw_version().data);
    return NGX_OK;
}

/* === per request === */

static ngx_str_t
ngx_http_gateway_copy(ngx_pool_t *pool, const uint8_t *data, size_t len)
{
    ngx_str_t s = ngx_null_string;

    s.data = ngx_pnalloc(pool, len + 1);
    if (s.data != NULL) {
        if (len) {
            ngx_memcpy(s.data, data, len);
        }
        s.data[len] = '\0';
        s.len = len;
    }
    return s;
}

static ngx_table_elt_t *
ngx_http_gateway_push(ngx_pool_t *pool, ngx_list_t *list, gw_slice name, gw_slice value)
{
    ngx_table_elt_t *h;

    h = ngx_list_push(list);
    if (h == NULL) {
        return NULL;
    }
    ngx_memzero(h, sizeof(ngx_table_elt_t));
    h->key = ngx_http_gateway_copy(pool, name.data, name.len);
    h->value = ngx_http_gateway_copy(pool, value.data, value.len);
    h->lowcase_key = ngx_pnalloc(pool, name.len + 1);
    if (h->key.data == NULL || h->value.data == NULL || h->lowcase_key == NULL) {
        return NULL;
    }
    ngx_strlow(h->lowcase_key, h->key.data, h->key.len);
    h->lowcase_key[h->key.len] = '\0';
    h->hash = ngx_hash_key(h->lowcase_key, h->key.len);
    return h;
}

static ngx_int_t
ngx_http_gateway_same_name(ngx_str_t *key, gw_slice name)
{
    return key->len == name.len && ngx_strncasecmp(key->data, (u_char *) name.data, name.len) == 0;
}

/* Appends ",value" to a header value (the Gateway API "add" semantics). */
static ngx_int_t
ngx_http_gateway_append(ngx_pool_t *pool, ngx_table_elt_t *h, gw_slice value)
{
    u_char *p;

    p = ngx_pnalloc(pool, h->value.len + 1 + value.len + 1);
    if (p == NULL) {
        return NGX_ERROR;
    }
    ngx_memcpy(p, h->value.data, h->value.len);
    p[h->value.len] = ',';
    ngx_memcpy(p + h->value.len + 1, value.data, value.len);
    h->value.len += 1 + value.len;
    p[h->value.len] = '\0';
    h->value.data = p;
    return NGX_OK;
}

/*
 * Request header edits: the headers nginx forwards are rebuilt without the fields the edits
 * set or remove, then added values are appended to the last field of their name and set fields
 * are added.
 */
static ngx_int_t
ngx_http_gateway_request_edits(ngx_http_request_t *r, gw_decision *d)
{
    size_t n, i, j;
    gw_header_edit *edits;
    ngx_list_t headers;
    ngx_list_part_t *part;
    ngx_table_elt_t *h, *last;
    ngx_uint_t k;

    n = gw_decision_request_edit_count(d);
    if (n == 0) {
        return NGX_OK;
    }
    edits = ngx_pnalloc(r->pool, n * sizeof(gw_header_edit));
    if (edits == NULL) {
        return NGX_ERROR;
    }
    for (i = 0; i < n; i++) {
        if (!gw_decision_request_edit(d, i, &edits[i])) {
            return NGX_ERROR;
        }
    }
    if (ngx_list_init(&headers, r->pool, 20, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return NGX_ERROR;
    }
    part = &r->headers_in.headers.part;
    h = part->elts;
    for (k = 0; /* void */; k++) {
        if (k >= part->nelts) {
            if (part->next == NULL) {
                break;
            }
            part = part->next;
            h = part->elts;
            k = 0;
        }
        for (j = 0; j < n; j++) {
            if (edits[j].op != GW_HEADER_OP_ADD && ngx_http_gateway_same_name(&h[k].key, edits[j].name)) {
                break;
            }
        }
        if (j < n) {
            continue;                       /* set or removed */
        }
        last = ngx_list_push(&headers);
        if (last == NULL) {
            return NGX_ERROR;
        }
        *last = h[k];
    }
    for (i = 0; i < n; i++) {
        if (edits[i].op == GW_HEADER_OP_REMOVE) {
            continue;
        }
        last = NULL;
        if (edits[i].op == GW_HEADER_OP_ADD) {
            part = &headers.part;
            h = part->elts;
            for (k = 0; /* void */; k++) {
                if (k >= part->nelts) {
                    if (part->next == NULL) {
                        break;
                    }
                    part = part->next;
                    h = part->elts;
                    k = 0;
                }
                if (ngx_http_gateway_same_name(&h[k].key, edits[i].name)) {
                    last = &h[k];
                }
            }
        }
        if (last != NULL) {
            if (ngx_http_gateway_append(r->pool, last, edits[i].value) != NGX_OK) {
                return NGX_ERROR;
            }
        } else if (ngx_http_gateway_push(r->pool, &headers, edits[i].name, edits[i].value) == NULL) {
            return NGX_ERROR;
        }
    }
    r->headers_in.headers = headers;
    return NGX_OK;
}

/* Redirects and local responses, answered by nginx itself. */
static ngx_int_t
ngx_http_gateway_local(ngx_http_request_t *r, gw_decision *d, gw_outcome outcome)
{
    size_t i, n;
    gw_header h;
    ngx_table_elt_t *e;
    ngx_uint_t status;
    ngx_http_complex_value_t cv;
    gw_slice body;

    status = gw_decision_status(d);
    if (outcome == GW_OUTCOME_REDIRECT) {
        ngx_http_clear_location(r);
    }
    n = gw_decision_local_header_count(d);
    for (i = 0; i < n; i++) {
        if (!gw_decision_local_header(d, i, &h)) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        e = ngx_http_gateway_push(r->pool, &r->headers_out.headers, h.name, h.value);
        if (e == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        e->hash = 1;
        if (h.name.len == 8 && ngx_strncasecmp((u_char *) h.name.data, (u_char *) "location", 8) == 0) {
            ngx_str_set(&e->key, "Location");
            r->headers_out.location = e;
        }
    }
    if (outcome == GW_OUTCOME_REDIRECT) {
        return status;                      /* nginx writes the redirect page */
    }
    body = gw_decision_local_body(d);
    ngx_memzero(&cv, sizeof(ngx_http_complex_value_t));
    cv.value = ngx_http_gateway_copy(r->pool, body.data, body.len);
    if (cv.value.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return ngx_http_send_response(r, status, NULL, &cv);
}

static void
ngx_http_gateway_cleanup_decision(void *data)
{
    gw_decision_free(data);
}

/* The raw request-target: what follows the method on the request line, up to the protocol. */
static ngx_str_t
ngx_http_gateway_target(ngx_http_request_t *r)
{
    u_char *p, *end;
    ngx_str_t target;

    p = r->request_line.data + r->method_name.len;
    end = r->request_line.data + r->request_line.len;
    if (r->http_protocol.data != NULL && r->http_protocol.data > p && r->http_protocol.data <= end) {
        end = r->http_protocol.data;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    while (end > p && end[-1] == ' ') {
        end--;
    }
    target.data = p;
    target.len = end - p;
    if (target.len == 0) {
        target = r->unparsed_uri;
    }
    return target;
}

static ngx_int_t
ngx_http_gateway_handler(ngx_http_request_t *r)
{
    ngx_http_gateway_loc_conf_t *glcf;
    ngx_http_gateway_main_conf_t *gmcf;
    ngx_http_gateway_ctx_t *ctx;
    ngx_pool_cleanup_t *cln;
    ngx_list_part_t *part;
    ngx_table_elt_t *h;
    ngx_uint_t i, n;
    gw_header *headers;
    gw_request req;
    gw_decision *d = NULL;
    gw_result rc;
    gw_outcome outcome;
    gw_backend_tls tls;
    gw_slice reason;
    ngx_str_t target;
    uint16_t status;

    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gateway_module);
    if (!glcf->enable || r != r->main || ngx_http_get_module_ctx(r, ngx_http_gateway_module)) {
        return NGX_DECLINED;
    }
    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gateway_module);
    if (gmcf->router == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gateway on, but no gateway_manifests configured");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_gateway_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    ngx_http_set_ctx(r, ctx, ngx_http_gateway_module);

    n = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        n += part->nelts;
    }
    headers = ngx_pnalloc(r->pool, (n ? n : 1) * sizeof(gw_header));
    if (headers == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    n = 0;
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            headers[n].name.data = h[i].key.data;
            headers[n].name.len = h[i].key.len;
            headers[n].value.data = h[i].value.data;
            headers[n].value.len = h[i].value.len;
            n++;
        }
    }

    ngx_memzero(&req, sizeof(gw_request));
    target = ngx_http_gateway_target(r);
    req.method.data = r->method_name.data;
    req.method.len = r->method_name.len;
    req.scheme.data = (const uint8_t *) "http";
    req.scheme.len = 4;
    req.target.data = target.data;
    req.target.len = target.len;
    req.headers = headers;
    req.headers_len = n;
#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        const char *sni;

        req.scheme.data = (const uint8_t *) "https";
        req.scheme.len = 5;
        sni = SSL_get_servername(r->connection->ssl->connection, TLSEXT_NAMETYPE_host_name);
        if (sni != NULL) {
            req.sni.data = (const uint8_t *) sni;
            req.sni.len = ngx_strlen(sni);
        }
    }
#endif
    /* Listeners are selected by the port the connection arrived on. */
    if (ngx_connection_local_sockaddr(r->connection, NULL, 0) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    req.port = (uint16_t) ngx_inet_get_port(r->connection->local_sockaddr);
    req.random = ((uint64_t) ngx_random() << 33) ^ ((uint64_t) ngx_random() << 11)
                 ^ (uint64_t) ngx_random();

    rc = gw_router_route(gmcf->router, &req, &d);
    if (rc != GW_RESULT_OK) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "gw_router_route failed: %ui",
                      (ngx_uint_t) rc);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        gw_decision_free(d);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    cln->handler = ngx_http_gateway_cleanup_decision;
    cln->data = d;
    ctx->decision = d;

    outcome = gw_decision_outcome(d);
    switch (outcome) {
    case GW_OUTCOME_FORWARD:
        /*
         * This module forwards with proxy_pass, which cannot verify the backend's chain with
         * gw_decision_verify_backend_chain (the BackendTLSPolicy's CAs and SANs): fail closed
         * rather than connect in plaintext or with nginx's own, different, checks.
         */
        if (gw_decision_backend_tls(d, &tls)) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "gateway: backend TLS (BackendTLSPolicy %*s) is not supported by "
                          "this module: 500", tls.policy.len, tls.policy.data);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        if (ngx_http_gateway_request_edits(r, d) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
        return NGX_DECLINED;                /* on to proxy_pass */
    case GW_OUTCOME_REDIRECT:
    case GW_OUTCOME_RESPOND:
        return ngx_http_gateway_local(r, d, outcome);
    case GW_OUTCOME_AUTHORIZE:
        /*
         * External auth needs a subrequest to the auth Service and gw_decision_authorize with
         * its answer; this module does not make it yet, so the rule fails closed.
         */
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "gateway: external auth is not supported by this module: 500");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    default:
        status = gw_decision_status(d);
        reason = gw_decision_reason(d);
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0, "gateway: %ui: %*s",
                      (ngx_uint_t) status, reason.len, reason.data);
        return status >= 400 ? status : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* Response header edits, on responses to forwarded requests. */
static ngx_int_t
ngx_http_gateway_header_filter(ngx_http_request_t *r)
{
    ngx_http_gateway_ctx_t *ctx;
    ngx_list_part_t *part;
    ngx_table_elt_t *h, *last;
    ngx_uint_t k;
    size_t i, n;
    gw_header_edit e;

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gateway_module);
    if (r != r->main || ctx == NULL || ctx->decision == NULL
        || gw_decision_outcome(ctx->decision) != GW_OUTCOME_FORWARD)
    {
        return ngx_http_next_header_filter(r);
    }
    n = gw_decision_response_edit_count(ctx->decision);
    for (i = 0; i < n; i++) {
        if (!gw_decision_response_edit(ctx->decision, i, &e)) {
            return NGX_ERROR;
        }
        last = NULL;
        part = &r->headers_out.headers.part;
        h = part->elts;
        for (k = 0; /* void */; k++) {
            if (k >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }
                part = part->next;
                h = part->elts;
                k = 0;
            }
            if (h[k].hash == 0 || !ngx_http_gateway_same_name(&h[k].key, e.name)) {
                continue;
            }
            if (e.op == GW_HEADER_OP_ADD) {
                last = &h[k];
            } else {
                h[k].hash = 0;              /* set or remove: every field of the name goes */
            }
        }
        if (e.op == GW_HEADER_OP_REMOVE) {
            continue;
        }
        if (last != NULL) {
            if (ngx_http_gateway_append(r->pool, last, e.value) != NGX_OK) {
                return NGX_ERROR;
            }
            continue;
        }
        h = ngx_http_gateway_push(r->pool, &r->headers_out.headers, e.name, e.value);
        if (h == NULL) {
            return NGX_ERROR;
        }
        h->hash = 1;
    }
    return ngx_http_next_header_filter(r);
}

/* === variables === */

static ngx_int_t
ngx_http_gateway_variable(ngx_http_request_t *r, ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_gateway_ctx_t *ctx;
    gw_decision *d;
    gw_route_match m;
    gw_backend b;
    gw_slice s = {NULL, 0};
    u_char *p;
    size_t len;
    static const char *outcomes[] = {"forward", "redirect", "respond", "not_found",
                                     "bad_request", "misdirected", "server_error",
                                     "authorize", "denied"};

    ctx = ngx_http_get_module_ctx(r->main, ngx_http_gateway_module);
    if (ctx == NULL || ctx->decision == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }
    d = ctx->decision;
    p = NULL;
    len = 0;
    switch (data) {
    case GW_VAR_ROUTE:
        if (gw_decision_route(d, &m)) {
            len = m.ns.len + 1 + m.name.len;
            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_ERROR;
            }
            ngx_sprintf(p, "%*s/%*s", m.ns.len, m.ns.data, m.name.len, m.name.data);
        }
        break;
    case GW_VAR_RULE:
        if (gw_decision_route(d, &m)) {
            if (m.rule_name.data != NULL) {
                s = m.rule_name;
            } else {
                p = ngx_pnalloc(r->pool, NGX_SIZE_T_LEN);
                if (p == NULL) {
                    return NGX_ERROR;
                }
                len = ngx_sprintf(p, "%uz", m.rule_index) - p;
            }
        }
        break;
    case GW_VAR_BACKEND:
        if (gw_decision_backend(d, &b)) {
            p = ngx_pnalloc(r->pool, b.ns.len + b.name.len + 8);
            if (p == NULL) {
                return NGX_ERROR;
            }
            len = ngx_sprintf(p, "%*s/%*s:%ui", b.ns.len, b.ns.data, b.name.len, b.name.data,
                              (ngx_uint_t) b.port) - p;
        }
        break;
    case GW_VAR_PATH:
        s = gw_decision_path(d);
        break;
    case GW_VAR_AUTHORITY:
        s = gw_decision_authority_rewrite(d);
        if (s.data == NULL && r->headers_in.host != NULL) {
            s.data = r->headers_in.host->value.data;
            s.len = r->headers_in.host->value.len;
        }
        if (s.data == NULL) {
            s = gw_decision_host(d);
        }
        break;
    case GW_VAR_LISTENER:
        s = gw_decision_listener(d);
        break;
    case GW_VAR_OUTCOME:
        if (gw_decision_outcome(d) <= GW_OUTCOME_DENIED) {
            s.data = (const uint8_t *) outcomes[gw_decision_outcome(d)];
            s.len = ngx_strlen(s.data);
        }
        break;
    }
    if (p != NULL) {
        s.data = p;
        s.len = len;
    }
    if (s.data == NULL) {
        v->not_found = 1;
        return NGX_OK;
    }
    v->data = (u_char *) s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;
    v->not_found = 0;
    return NGX_OK;
}

static ngx_int_t
ngx_http_gateway_add_variables(ngx_conf_t *cf)
{
    static ngx_str_t names[] = {
        ngx_string("gateway_route"),     ngx_string("gateway_rule"),
        ngx_string("gateway_backend"),   ngx_string("gateway_path"),
        ngx_string("gateway_authority"), ngx_string("gateway_listener"),
        ngx_string("gateway_outcome"),
    };
    ngx_http_variable_t *var;
    ngx_uint_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        var = ngx_http_add_variable(cf, &names[i], NGX_HTTP_VAR_NOCACHEABLE);
        if (var == NULL) {
            return NGX_ERROR;
        }
        var->get_handler = ngx_http_gateway_variable;
        var->data = i;
    }
    return NGX_OK;
}

static ngx_int_t
ngx_http_gateway_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt *h;
    ngx_http_core_main_conf_t *cmcf;
    ngx_http_gateway_main_conf_t *gmcf;

    gmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_gateway_module);
    if (gmcf->manifests.len && ngx_http_gateway_load(cf, gmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }
    *h = ngx_http_gateway_handler;

    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_gateway_header_filter;
    return NGX_OK;
}
