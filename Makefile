# Builds and installs the C library (gateway-ffi) and the nginx module like a distribution
# package would. Cargo builds; this file only names and places the results.
#
#   make                                   the release libraries (cargo build -p gateway-ffi)
#   make install PREFIX=/usr/local         gateway.h, libgateway.a, libgateway.so*, gateway.pc
#   make install-strip PREFIX=/usr/local   the same, without debug information (.so 45 -> 9 MB)
#   make uninstall PREFIX=/usr/local
#   make install-nginx                     the nginx dynamic module, built against the
#                                          distribution's nginx (package nginx-dev), into
#                                          /usr/lib/nginx/modules with its load_module snippet
#
# DESTDIR stages any install under a scratch root (DESTDIR=/tmp/root PREFIX=/usr). Honors
# CARGO_TARGET_DIR. `make && sudo make install` runs cargo only in the first command.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=
INSTALL ?= install
STRIP ?= strip
CARGO ?= cargo

TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
RELEASE := $(TARGET_DIR)/release

# One version for the workspace ([workspace.package] in Cargo.toml).
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR := $(word 1,$(subst ., ,$(VERSION)))
MINOR := $(word 2,$(subst ., ,$(VERSION)))
# While the version is 0.x the C ABI may change in every minor release: the SONAME carries
# the minor version. gateway-ffi/build.rs sets the same SONAME at link time.
ABI := $(if $(filter 0,$(MAJOR)),$(MAJOR).$(MINOR),$(MAJOR))
SONAME := libgateway.so.$(ABI)
REALNAME := libgateway.so.$(VERSION)

# The libraries' system dependencies when linked statically (what rustc reports with
# --print native-static-libs, less what the C compiler links anyway).
PRIVATE_LIBS := -lpthread -ldl -lm

# The nginx module: Debian's paths (nginx -V: --modules-path; the snippets of its
# libnginx-mod-* packages).
NGINX_MODULES_DIR ?= /usr/lib/nginx/modules
NGINX_AVAILABLE_DIR ?= /usr/share/nginx/modules-available
NGINX_ENABLED_DIR ?= /etc/nginx/modules-enabled
NGINX_MODULE := $(TARGET_DIR)/nginx-module/build/ngx_http_gateway_module.so

RUST_SOURCES := $(shell find gateway-core/src gateway-ffi/src -name '*.rs') \
	gateway-ffi/build.rs Cargo.toml Cargo.lock gateway-core/Cargo.toml gateway-ffi/Cargo.toml

all: $(RELEASE)/libgateway_ffi.a $(RELEASE)/libgateway_ffi.so

$(RELEASE)/libgateway_ffi.a $(RELEASE)/libgateway_ffi.so &: $(RUST_SOURCES)
	$(CARGO) build --locked --release -p gateway-ffi
	touch $(RELEASE)/libgateway_ffi.a $(RELEASE)/libgateway_ffi.so

gateway.pc:
	mkdir -p $(TARGET_DIR)
	printf '%s\n' \
	  'prefix=$(PREFIX)' \
	  'libdir=$(LIBDIR)' \
	  'includedir=$(INCLUDEDIR)' \
	  '' \
	  'Name: gateway' \
	  'Description: Kubernetes Gateway API v1.4 routing decisions (the C ABI of gateway-core)' \
	  'Version: $(VERSION)' \
	  'Libs: -L$${libdir} -lgateway' \
	  'Libs.private: $(PRIVATE_LIBS)' \
	  'Cflags: -I$${includedir}' >$(TARGET_DIR)/gateway.pc

install: all gateway.pc
	$(INSTALL) -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	$(INSTALL) -m 644 include/gateway.h $(DESTDIR)$(INCLUDEDIR)/gateway.h
	$(INSTALL) -m 644 $(RELEASE)/libgateway_ffi.a $(DESTDIR)$(LIBDIR)/libgateway.a
	$(INSTALL) -m 755 $(RELEASE)/libgateway_ffi.so $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libgateway.so
	$(INSTALL) -m 644 $(TARGET_DIR)/gateway.pc $(DESTDIR)$(PKGCONFIGDIR)/gateway.pc

install-strip: install
	$(STRIP) --strip-debug $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(LIBDIR)/libgateway.a

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/gateway.h $(DESTDIR)$(LIBDIR)/libgateway.a \
	  $(DESTDIR)$(LIBDIR)/$(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	  $(DESTDIR)$(LIBDIR)/libgateway.so $(DESTDIR)$(PKGCONFIGDIR)/gateway.pc

nginx-module: $(NGINX_MODULE)

$(NGINX_MODULE): $(RELEASE)/libgateway_ffi.a examples/nginx/ngx_http_gateway_module.c \
		examples/nginx/config examples/nginx/build.sh include/gateway.h
	examples/nginx/build.sh $(TARGET_DIR)/nginx-module

# As Debian's libnginx-mod-* packages do: the module, a snippet that loads it, and the
# snippet enabled (nginx.conf includes /etc/nginx/modules-enabled/*.conf), the module without
# its debug information as theirs are. Restart nginx after.
install-nginx: $(NGINX_MODULE)
	$(INSTALL) -d $(DESTDIR)$(NGINX_MODULES_DIR) $(DESTDIR)$(NGINX_AVAILABLE_DIR) \
	  $(DESTDIR)$(NGINX_ENABLED_DIR)
	$(INSTALL) -m 644 $(NGINX_MODULE) $(DESTDIR)$(NGINX_MODULES_DIR)/ngx_http_gateway_module.so
	$(STRIP) --strip-debug $(DESTDIR)$(NGINX_MODULES_DIR)/ngx_http_gateway_module.so
	printf 'load_module %s;\n' '$(NGINX_MODULES_DIR)/ngx_http_gateway_module.so' \
	  >$(DESTDIR)$(NGINX_AVAILABLE_DIR)/mod-http-gateway.conf
	chmod 644 $(DESTDIR)$(NGINX_AVAILABLE_DIR)/mod-http-gateway.conf
	ln -sf $(NGINX_AVAILABLE_DIR)/mod-http-gateway.conf \
	  $(DESTDIR)$(NGINX_ENABLED_DIR)/50-mod-http-gateway.conf

uninstall-nginx:
	rm -f $(DESTDIR)$(NGINX_MODULES_DIR)/ngx_http_gateway_module.so \
	  $(DESTDIR)$(NGINX_AVAILABLE_DIR)/mod-http-gateway.conf \
	  $(DESTDIR)$(NGINX_ENABLED_DIR)/50-mod-http-gateway.conf

.PHONY: all install install-strip uninstall nginx-module install-nginx uninstall-nginx gateway.pc
