//! A minimal proxy-wasm (ABI 0.2.1) host on wasmtime, for tests only: no Envoy can be installed
//! here. It implements the host calls the filter makes on the paths under test (log, time,
//! buffers, header maps, properties, local responses, HTTP calls, continue, effective context)
//! and drives the module's callbacks. Every other import traps, so a filter that starts using a
//! call the host does not know fails its tests loudly.
//!
//! Memory protocol: strings and maps the module returns to the host are read from its memory;
//! values the host returns are written into buffers it allocates with the module's exported
//! `malloc` (`proxy_on_memory_allocate` on wasm32-unknown-unknown). Maps are serialized as the
//! ABI says: `u32 count`, then `u32 key_len, u32 value_len` per pair, then each key and value
//! followed by a NUL byte.

use std::collections::HashMap;
use std::sync::OnceLock;

use wasmtime::{Caller, Engine, Instance, Linker, Module, Store};

type Pairs = Vec<(String, Vec<u8>)>;

/// What the host knows and what the module did, inspected by the tests.
#[derive(Default)]
pub(crate) struct State {
    pub(crate) config: Vec<u8>,
    pub(crate) request_headers: Pairs,
    pub(crate) response_headers: Pairs,
    /// Properties by path, segments joined with NUL (`destination\0port`).
    pub(crate) properties: HashMap<String, Vec<u8>>,
    /// The local response sent, if any: status, headers.
    pub(crate) local_response: Option<(u32, Pairs)>,
    /// HTTP calls dispatched: token, upstream cluster, headers, timeout (ms).
    pub(crate) calls: Vec<(u32, String, Pairs, u32)>,
    /// gRPC calls dispatched: token, upstream cluster, service, method, message, timeout (ms).
    pub(crate) grpc_calls: Vec<(u32, String, String, String, Vec<u8>, u32)>,
    /// The answer of the HTTP call being delivered: headers and body (for gRPC, the message).
    pub(crate) call_response: (Pairs, Vec<u8>),
    pub(crate) logs: Vec<(i32, String)>,
    /// Streams resumed with `proxy_continue_stream`.
    pub(crate) continued: u32,
}

/// One VM with the filter loaded.
pub(crate) struct Vm {
    pub(crate) store: Store<State>,
    instance: Instance,
    next_context: u32,
}

/// The filter, compiled once per test binary. Built by `gateway-wasm/build.sh`.
fn module() -> &'static (Engine, Module) {
    static MODULE: OnceLock<(Engine, Module)> = OnceLock::new();
    MODULE.get_or_init(|| {
        let path = std::env::var("GATEWAY_FILTER_WASM").unwrap_or_else(|_| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/pkg-filter/gateway_filter.wasm"
            )
            .to_owned()
        });
        let engine = Engine::default();
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}; build it with gateway-wasm/build.sh"));
        let module = Module::new(&engine, bytes).expect("compile the filter");
        (engine, module)
    })
}

fn memory(caller: &mut Caller<'_, State>) -> wasmtime::Memory {
    caller
        .get_export("memory")
        .and_then(|e| e.into_memory())
        .expect("memory export")
}

fn read(caller: &mut Caller<'_, State>, ptr: i32, len: i32) -> Vec<u8> {
    let mut out = vec![0; len as usize];
    memory(caller)
        .read(&*caller, ptr as usize, &mut out)
        .expect("guest pointer in bounds");
    out
}

fn write_u32(caller: &mut Caller<'_, State>, ptr: i32, value: u32) {
    memory(caller)
        .write(caller, ptr as usize, &value.to_le_bytes())
        .expect("in bounds");
}

/// Copies `data` into a buffer from the module's allocator and returns it through the two
/// out-pointers.
fn give(caller: &mut Caller<'_, State>, data: &[u8], ret_ptr: i32, ret_len: i32) -> i32 {
    let malloc = caller
        .get_export("malloc")
        .and_then(|e| e.into_func())
        .expect("malloc");
    let malloc = malloc
        .typed::<i32, i32>(&*caller)
        .expect("malloc(i32) -> i32");
    let ptr = malloc
        .call(&mut *caller, data.len() as i32)
        .expect("malloc");
    memory(caller)
        .write(&mut *caller, ptr as usize, data)
        .expect("in bounds");
    write_u32(caller, ret_ptr, ptr as u32);
    write_u32(caller, ret_len, data.len() as u32);
    0
}

pub(crate) fn serialize(map: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut out = (map.len() as u32).to_le_bytes().to_vec();
    for (k, v) in map {
        out.extend((k.len() as u32).to_le_bytes());
        out.extend((v.len() as u32).to_le_bytes());
    }
    for (k, v) in map {
        out.extend(k.as_bytes().iter().chain([&0]).chain(v.iter()).chain([&0]));
    }
    out
}

fn deserialize(bytes: &[u8]) -> Pairs {
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
    let mut at = 4 + 8 * u32_at(0);
    (0..u32_at(0))
        .map(|i| {
            let (kl, vl) = (u32_at(4 + 8 * i), u32_at(8 + 8 * i));
            let k = String::from_utf8(bytes[at..at + kl].to_vec()).unwrap();
            let v = bytes[at + kl + 1..at + kl + 1 + vl].to_vec();
            at += kl + vl + 2;
            (k, v)
        })
        .collect()
}

fn next_token(state: &State) -> u32 {
    (state.calls.len() + state.grpc_calls.len()) as u32 + 1
}

fn map(state: &mut State, map_type: i32) -> &mut Pairs {
    match map_type {
        0 => &mut state.request_headers,
        2 => &mut state.response_headers,
        6 => &mut state.call_response.0,
        other => panic!("map type {other} is not implemented by the test host"),
    }
}

fn linker(engine: &Engine, module: &Module) -> Linker<State> {
    let mut l = Linker::new(engine);
    l.func_wrap(
        "env",
        "proxy_log",
        |mut c: Caller<'_, State>, level: i32, p: i32, n: i32| {
            let message = String::from_utf8_lossy(&read(&mut c, p, n)).into_owned();
            c.data_mut().logs.push((level, message));
            0
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_get_current_time_nanoseconds",
        |mut c: Caller<'_, State>, ret: i32| {
            let now = 1_700_000_000_000_000_000u64;
            memory(&mut c)
                .write(&mut c, ret as usize, &now.to_le_bytes())
                .unwrap();
            0
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_get_buffer_bytes",
        |mut c: Caller<'_, State>, kind: i32, start: i32, max: i32, rp: i32, rn: i32| {
            let data = match kind {
                7 => c.data().config.clone(),
                4 | 5 => c.data().call_response.1.clone(),
                other => panic!("buffer type {other} is not implemented by the test host"),
            };
            let end = data.len().min(start as usize + max as usize);
            let slice = data.get(start as usize..end).unwrap_or_default().to_vec();
            give(&mut c, &slice, rp, rn)
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_get_header_map_pairs",
        |mut c: Caller<'_, State>, t: i32, rp: i32, rn: i32| {
            let bytes = serialize(map(c.data_mut(), t));
            give(&mut c, &bytes, rp, rn)
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_set_header_map_pairs",
        |mut c: Caller<'_, State>, t: i32, p: i32, n: i32| {
            let pairs = deserialize(&read(&mut c, p, n));
            *map(c.data_mut(), t) = pairs;
            0
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_get_property",
        |mut c: Caller<'_, State>, p: i32, n: i32, rp: i32, rn: i32| {
            let path = String::from_utf8(read(&mut c, p, n)).unwrap();
            match c.data().properties.get(&path).cloned() {
                Some(value) => give(&mut c, &value, rp, rn),
                None => 1, // NotFound
            }
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_send_local_response",
        |mut c: Caller<'_, State>,
         status: i32,
         _dp: i32,
         _dn: i32,
         _bp: i32,
         _bn: i32,
         hp: i32,
         hn: i32,
         _grpc: i32| {
            let headers = deserialize(&read(&mut c, hp, hn));
            c.data_mut().local_response = Some((status as u32, headers));
            0
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_http_call",
        |mut c: Caller<'_, State>,
         up: i32,
         un: i32,
         hp: i32,
         hn: i32,
         _bp: i32,
         _bn: i32,
         _tp: i32,
         _tn: i32,
         timeout: i32,
         ret: i32| {
            let upstream = String::from_utf8(read(&mut c, up, un)).unwrap();
            let headers = deserialize(&read(&mut c, hp, hn));
            let token = next_token(c.data());
            c.data_mut()
                .calls
                .push((token, upstream, headers, timeout as u32));
            write_u32(&mut c, ret, token);
            0
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_grpc_call",
        |mut c: Caller<'_, State>,
         up: i32,
         un: i32,
         sp: i32,
         sn: i32,
         mp: i32,
         mn: i32,
         _hp: i32,
         _hn: i32,
         msg: i32,
         msg_len: i32,
         timeout: i32,
         ret: i32| {
            let text = |c: &mut Caller<'_, State>, p, n| String::from_utf8(read(c, p, n)).unwrap();
            let (upstream, service, method) = (
                text(&mut c, up, un),
                text(&mut c, sp, sn),
                text(&mut c, mp, mn),
            );
            let message = read(&mut c, msg, msg_len);
            let token = next_token(c.data());
            let call = (token, upstream, service, method, message, timeout as u32);
            c.data_mut().grpc_calls.push(call);
            write_u32(&mut c, ret, token);
            0
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_continue_stream",
        |mut c: Caller<'_, State>, _stream: i32| {
            c.data_mut().continued += 1;
            0
        },
    )
    .unwrap();
    l.func_wrap(
        "env",
        "proxy_set_effective_context",
        |_: Caller<'_, State>, _ctx: i32| 0,
    )
    .unwrap();
    l.define_unknown_imports_as_traps(module).unwrap();
    l
}

impl Vm {
    /// Loads the filter and configures a root context; returns the VM and what
    /// `proxy_on_configure` answered.
    pub(crate) fn configure(config: &str) -> (Vm, bool) {
        let (engine, module) = module();
        let state = State {
            config: config.as_bytes().to_vec(),
            ..State::default()
        };
        let mut store = Store::new(engine, state);
        let instance = linker(engine, module)
            .instantiate(&mut store, module)
            .unwrap();
        let mut vm = Vm {
            store,
            instance,
            next_context: 2,
        };
        vm.call::<(), ()>("_initialize", ());
        vm.call::<(i32, i32), ()>("proxy_on_context_create", (1, 0));
        assert_eq!(vm.call::<(i32, i32), i32>("proxy_on_vm_start", (1, 0)), 1);
        let ok = vm.call::<(i32, i32), i32>("proxy_on_configure", (1, config.len() as i32));
        (vm, ok == 1)
    }

    /// Calls an export of the module.
    pub(crate) fn call<P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
        &mut self,
        name: &str,
        p: P,
    ) -> R {
        let f = self
            .instance
            .get_typed_func::<P, R>(&mut self.store, name)
            .unwrap();
        f.call(&mut self.store, p)
            .unwrap_or_else(|e| panic!("{name} trapped: {e:?}"))
    }

    /// Starts a stream with these request headers; returns its context and the action
    /// (0 continue, 1 pause).
    pub(crate) fn request(&mut self, headers: &[(&str, &str)]) -> (i32, i32) {
        let ctx = self.next_context as i32;
        self.next_context += 1;
        let s = self.store.data_mut();
        s.request_headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        s.local_response = None;
        self.call::<(i32, i32), ()>("proxy_on_context_create", (ctx, 1));
        let action = self.call::<(i32, i32, i32), i32>(
            "proxy_on_request_headers",
            (ctx, headers.len() as i32, 1),
        );
        (ctx, action)
    }

    /// The upstream answers with these headers; returns the action.
    pub(crate) fn response(&mut self, ctx: i32, headers: &[(&str, &[u8])]) -> i32 {
        self.store.data_mut().response_headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect();
        self.call::<(i32, i32, i32), i32>(
            "proxy_on_response_headers",
            (ctx, headers.len() as i32, 0),
        )
    }

    /// Delivers the answer to HTTP call `token` of stream `ctx`.
    pub(crate) fn call_response(
        &mut self,
        ctx: i32,
        token: u32,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let headers: Pairs = headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        let n = headers.len() as i32;
        self.store.data_mut().call_response = (headers, body.to_vec());
        self.call::<(i32, i32, i32, i32, i32), ()>(
            "proxy_on_http_call_response",
            (ctx, token as i32, n, body.len() as i32, 0),
        );
    }

    /// Delivers the answer to gRPC call `token` of stream `ctx`: the message with status 0, or
    /// the close status of a failed call.
    pub(crate) fn grpc_response(&mut self, ctx: i32, token: u32, status: u32, message: &[u8]) {
        if status == 0 {
            self.store.data_mut().call_response = (Vec::new(), message.to_vec());
            let args = (ctx, token as i32, message.len() as i32);
            self.call::<(i32, i32, i32), ()>("proxy_on_grpc_receive", args);
        } else {
            let args = (ctx, token as i32, status as i32);
            self.call::<(i32, i32, i32), ()>("proxy_on_grpc_close", args);
        }
    }

    /// The host's state.
    pub(crate) fn state(&self) -> &State {
        self.store.data()
    }
}

/// A header's value as text, from a pair list.
pub(crate) fn header<'p>(pairs: &'p Pairs, name: &str) -> Option<&'p str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| std::str::from_utf8(v).unwrap())
}
