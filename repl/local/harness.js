'use strict';
// acajs-repl kernel harness: one long-lived Node.js process per session.
//
// Reproduces the evaluation loop of iJavaScript 5.2.1 / nel 1.3.0 (see
// docs/kernel.md): every execution is a script run with vm.runInThisContext in
// the main realm, `$$` works as in nel, console and process.stdout/stderr are
// captured per execution.
//
// argv: harness.js <cmd fd> <result fd> <workdir> <options JSON>
// Protocol: newline-delimited JSON. Python -> Node on <cmd fd>:
//   {"op":"run","id":N,"code":"...","timeout":ms,"limit":chars}
// Node -> Python on <result fd> (blocking pipe, written synchronously):
//   {"ev":"ready",...} once, {"ev":"done","id":N,...} per execution,
//   {"ev":"exit",...} when the process exits (process.exit()).

// The harness's own view of these globals, whatever user code does to them later.
((process, Buffer, Object, JSON, Reflect, String, Math, URL, performance, setImmediate, setTimeout, clearTimeout) => {
const CMD_FD = +process.argv[2];
const RES_FD = +process.argv[3];
const WORKDIR = process.argv[4];
const OPTS = JSON.parse(process.argv[5] || '{}');
// Keep the harness's own arguments out of the user's sight (nel's kernel runs `node --eval`).
process.argv.splice(1, process.argv.length - 1);

const fs = require('fs');
const vm = require('vm');
const util = require('util');
const path = require('path');
const Module = require('module');
const { Writable } = require('stream');
const { StringDecoder } = require('string_decoder');

// Harness-private copies of things user code may overwrite.
const stringify = JSON.stringify;
const parse = JSON.parse;
const inspect = util.inspect;
const runInThisContext = vm.runInThisContext;
const writeSync = fs.writeSync;
const now = performance.now.bind(performance);
const setImmediate_ = setImmediate;
const setTimeout_ = setTimeout;
const clearTimeout_ = clearTimeout;
const hasToWellFormed = typeof ''.toWellFormed === 'function';
const wellFormed = (s) => (hasToWellFormed ? s.toWellFormed() : s);

const DEFAULT_LIMIT = 1048576;
const MNT = '/mnt/data';

// ------------------------------------------------------------------ results pipe
function sendRaw(obj) {
  const buf = Buffer.from(stringify(obj) + '\n', 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeSync(RES_FD, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      throw e;
    }
  }
}

// ------------------------------------------------------------------ output capture
let limit = DEFAULT_LIMIT;
const out = { s: '', d: 0 };
const err = { s: '', d: 0 };

function emit(b, str) {
  if (!str) return;
  const room = limit - b.s.length;
  if (str.length <= room) {
    b.s += str;
  } else {
    if (room > 0) b.s += str.slice(0, room);
    b.d += str.length - (room > 0 ? room : 0);
  }
}

function take(b) {
  const r = { s: wellFormed(b.s), d: b.d };
  b.s = '';
  b.d = 0;
  return r;
}

function makeStream(b, fd) {
  const dec = new StringDecoder('utf8');
  const w = new Writable({
    decodeStrings: false,
    write(chunk, enc, cb) {
      if (typeof chunk === 'string') {
        if (enc && enc !== 'utf8' && enc !== 'utf-8' && enc !== 'buffer') {
          chunk = dec.write(Buffer.from(chunk, enc));
        }
        emit(b, chunk);
      } else {
        emit(b, dec.write(chunk));
      }
      cb();
    },
  });
  w.fd = fd;
  w._isStdio = true;
  // Like the real stdio streams, these cannot be closed: end() only writes.
  w.end = function end(chunk, enc, cb) {
    if (typeof chunk === 'function') cb = chunk;
    else if (chunk !== undefined && chunk !== null) w.write(chunk, typeof enc === 'string' ? enc : undefined);
    if (typeof enc === 'function') cb = enc;
    if (typeof cb === 'function') process.nextTick(cb);
    return w;
  };
  w.destroy = function destroy() { return w; };
  w.destroySoon = w.destroy;
  return w;
}

const stdout = makeStream(out, 1);
const stderr = makeStream(err, 2);
const { Console } = require('console');

// As in nel, every execution gets a console of its own (console.count(),
// console.group() and timers start afresh); it is made when first used, and
// stays the global console until the next execution.
function setConsole(value) {
  Object.defineProperty(globalThis, 'console', { value, writable: true, configurable: true, enumerable: true });
}
function installStdio(holder) {
  Object.defineProperty(process, 'stdout', {
    value: stdout, writable: true, configurable: true, enumerable: false,
  });
  Object.defineProperty(process, 'stderr', {
    value: stderr, writable: true, configurable: true, enumerable: false,
  });
  Object.defineProperty(globalThis, 'console', {
    get() {
      if (!holder.console) {
        holder.console = new Console({ stdout, stderr });
        holder.console.Console = Console; // as on Node's console (nel copies it too)
      }
      return holder.console;
    },
    set: setConsole,
    configurable: true,
    enumerable: true,
  });
}
installStdio({ console: null });

// Frames of the harness itself (and of the vm call and socket that run user
// code) say nothing about the user's code: the traceback stops before them.
const HARNESS_FILE = __filename;
function trimTraceback(lines) {
  const outLines = [];
  for (const line of lines) {
    if (/^\s+at /.test(line)) {
      if (line.includes('(node:vm:') || line.includes(' node:vm:')) break;
      if (line.includes(HARNESS_FILE)) continue;
    }
    outLines.push(line);
  }
  return outLines;
}

// Uncaught exceptions and unhandled rejections (Node turns those into uncaught
// exceptions) never end the kernel: they go to the current (or next) stderr,
// as nel reports them (error.stack).
function safeInspect(v) {
  try {
    return inspect(v);
  } catch (e) {
    return '[uninspectable value]';
  }
}
process.on('uncaughtException', (e) => {
  let text;
  try {
    text = e && e.stack ? trimTraceback(String(e.stack).split('\n')).join('\n') : 'Uncaught ' + safeInspect(e);
  } catch (x) {
    text = 'Uncaught exception (could not be formatted)';
  }
  emit(err, text + '\n');
});

// ------------------------------------------------------------------ /mnt/data
let fileURLToPath = null;
function mapPath(p) {
  if (typeof p === 'string') {
    if (p === MNT || (p.startsWith(MNT) && p[MNT.length] === '/')) {
      return WORKDIR + p.slice(MNT.length);
    }
    return p;
  }
  if (p instanceof URL) {
    if (p.protocol !== 'file:') return p;
    let s;
    try {
      if (!fileURLToPath) fileURLToPath = require('url').fileURLToPath;
      s = fileURLToPath(p);
    } catch (e) {
      return p;
    }
    const m = mapPath(s);
    return m === s ? p : m;
  }
  if (Buffer.isBuffer(p)) {
    const s = p.toString('utf8');
    const m = mapPath(s);
    return m === s ? p : Buffer.from(m, 'utf8');
  }
  return p;
}

function wrap(obj, name, nargs) {
  const orig = obj[name];
  if (typeof orig !== 'function') return;
  const w = nargs === 2
    ? function (a, b, ...rest) { return orig.call(this, mapPath(a), mapPath(b), ...rest); }
    : function (a, ...rest) { return orig.call(this, mapPath(a), ...rest); };
  for (const k of Reflect.ownKeys(orig)) {
    if (k === 'length' || k === 'name' || k === 'prototype') continue;
    try {
      Object.defineProperty(w, k, Object.getOwnPropertyDescriptor(orig, k));
    } catch (e) { /* ignore */ }
  }
  Object.defineProperty(w, 'name', { value: orig.name });
  obj[name] = w;
}

const ONE = ['access', 'appendFile', 'chmod', 'chown', 'createReadStream', 'createWriteStream',
  'exists', 'lchmod', 'lchown', 'lutimes', 'lstat', 'mkdir', 'mkdtemp', 'open', 'openAsBlob',
  'opendir', 'readdir', 'readFile', 'readlink', 'realpath', 'rm', 'rmdir', 'stat', 'statfs',
  'truncate', 'unlink', 'unwatchFile', 'utimes', 'watch', 'watchFile', 'writeFile', 'glob'];
const TWO = ['copyFile', 'cp', 'link', 'rename', 'symlink'];
for (const n of ONE) {
  wrap(fs, n, 1);
  wrap(fs, n + 'Sync', 1);
}
for (const n of TWO) {
  wrap(fs, n, 2);
  wrap(fs, n + 'Sync', 2);
}
if (fs.realpath) wrap(fs.realpath, 'native', 1);
if (fs.realpathSync) wrap(fs.realpathSync, 'native', 1);
wrap(process, 'chdir', 1);
wrap(Module, '_resolveFilename', 1);

// Unix socket paths (net.connect / server.listen) under /mnt/data too.
const net = require('net');
function mapSocketArgs(args) {
  const a0 = args[0];
  if (typeof a0 === 'string') {
    args[0] = mapPath(a0);
  } else if (Array.isArray(a0)) {
    if (a0[0] && typeof a0[0] === 'object' && typeof a0[0].path === 'string') a0[0].path = mapPath(a0[0].path);
  } else if (a0 && typeof a0 === 'object' && typeof a0.path === 'string') {
    const m = mapPath(a0.path);
    if (m !== a0.path) args[0] = Object.assign({}, a0, { path: m });
  }
  return args;
}
const origSocketConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(...args) {
  return origSocketConnect.apply(this, mapSocketArgs(args));
};
const origListen = net.Server.prototype.listen;
net.Server.prototype.listen = function listen(...args) {
  return origListen.apply(this, mapSocketArgs(args));
};

// fs.promises costs milliseconds to load: it is wrapped when first reached,
// through fs.promises or require('fs/promises').
let promisesWrapped = false;
function wrapPromises(p) {
  if (!promisesWrapped && p) {
    promisesWrapped = true;
    for (const n of ONE) wrap(p, n, 1);
    for (const n of TWO) wrap(p, n, 2);
  }
  return p;
}
const promisesDesc = Object.getOwnPropertyDescriptor(fs, 'promises');
if (promisesDesc && promisesDesc.get && promisesDesc.configurable) {
  Object.defineProperty(fs, 'promises', {
    configurable: true,
    enumerable: promisesDesc.enumerable,
    get() { return wrapPromises(promisesDesc.get.call(fs)); },
  });
} else {
  wrapPromises(fs.promises);
}
const origLoad = Module._load;
Module._load = function _load(request, ...rest) {
  if (!promisesWrapped && (request === 'fs/promises' || request === 'node:fs/promises')) wrapPromises(fs.promises);
  return origLoad.call(this, request, ...rest);
};

// ------------------------------------------------------------------ globals of `node --eval`
// nel's kernel runs as `node --eval`: require/module/exports/__filename/__dirname
// are globals and every built-in module is a lazy global (`fs`, `path`, ...).
const evalModule = new Module('[eval]');
evalModule.filename = path.join(WORKDIR, '[eval]');
evalModule.paths = Module._nodeModulePaths(WORKDIR);
const userRequire = Module.createRequire(evalModule.filename);
// `node --eval` has no main module, and once its script has run the global
// `module` is the built-in `module` module (an enumerable value), as nel sees it.
userRequire.main = undefined;
delete process.mainModule;
delete Module._cache[__filename];
for (const [k, v] of [['__filename', '[eval]'], ['exports', evalModule.exports],
  ['__dirname', '.'], ['require', userRequire], ['module', Module]]) {
  Object.defineProperty(globalThis, k, { value: v, writable: true, enumerable: true, configurable: true });
}
for (const name of Module.builtinModules) {
  if (name[0] === '_' || name.includes('/') || name.startsWith('node:')) continue;
  if (name === 'crypto') {
    // `node --eval` keeps the global's own accessor (enumerable, no setter)
    // but it returns the crypto module there.
    Object.defineProperty(globalThis, 'crypto', {
      get: () => require('crypto'), set: undefined, configurable: true, enumerable: true,
    });
    continue;
  }
  if (Object.prototype.hasOwnProperty.call(globalThis, name)) continue;
  const setReal = (val) => {
    delete globalThis[name];
    globalThis[name] = val;
  };
  Object.defineProperty(globalThis, name, {
    get: () => {
      const lib = require(name);
      try {
        Object.defineProperty(globalThis, name, { get: () => lib, set: setReal, configurable: true, enumerable: false });
      } catch (e) { /* ignore */ }
      return lib;
    },
    set: setReal,
    configurable: true,
    enumerable: false,
  });
}

// ------------------------------------------------------------------ signals
// Under the sandbox a session may signal only its own process: not the pool's
// server, not another session's kernel (whose debugger SIGUSR1 would open).
if (OPTS.sandboxed) {
  const own = (pid) => {
    const n = Number(pid);
    return n === process.pid || n === 0 || n === -process.pid;
  };
  const refuse = (pid) => {
    const e = new Error(`kill ${pid}: a session may only signal its own process (sandbox)`);
    e.code = 'EPERM';
    e.syscall = 'kill';
    return e;
  };
  const origKill = process.kill;
  const origRawKill = process._kill;
  process.kill = function kill(pid, sig) {
    if (!own(pid)) throw refuse(pid);
    return origKill.call(this, pid, sig);
  };
  if (typeof origRawKill === 'function') {
    process._kill = function _kill(pid, sig) {
      if (!own(pid)) throw refuse(pid);
      return origRawKill.call(this, pid, sig);
    };
  }
  if (typeof process._debugProcess === 'function') {
    process._debugProcess = function _debugProcess(pid) {
      throw refuse(pid);
    };
  }
}

// ------------------------------------------------------------------ egress disabled
if (OPTS.egress === 'disabled') {
  // OPTS.isolated: the kernel runs in its own empty network namespace (only its
  // own loopback), so loopback traffic stays inside the session and is allowed.
  // Without it, the host's loopback is the host's: everything is refused.
  const ISOLATED = !!OPTS.isolated;
  const denied = (what) => {
    const e = new Error(`${what}: network access is disabled in this session pool (egress disabled)`);
    e.code = 'ENETUNREACH';
    return e;
  };
  const isLoopback = (h) => {
    if (h === undefined || h === null || h === '') return true; // Node's default host is localhost
    h = String(h).toLowerCase();
    if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
    return h === 'localhost' || h.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(h) ||
      h === '::1' || h === '0:0:0:0:0:0:0:1' || h === '::ffff:127.0.0.1';
  };
  const insideWorkdir = (p) => {
    const abs = path.resolve(WORKDIR, String(mapPath(p)));
    return abs === WORKDIR || abs.startsWith(WORKDIR + path.sep);
  };
  const origConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function connect(...args) {
    let o = args[0];
    let pipe = false;
    if (Array.isArray(o)) o = o[0]; // already normalized (net.createConnection)
    else if (typeof net._normalizeArgs === 'function') o = net._normalizeArgs(args)[0];
    if (o && typeof o === 'object') {
      if (o.fd !== undefined && o.fd !== null) return origConnect.apply(this, args);
      // as in Node: a truthy path means a Unix socket (http passes path: null)
      pipe = !!o.path;
      if (pipe ? insideWorkdir(o.path) : ISOLATED && isLoopback(o.host)) {
        return origConnect.apply(this, args);
      }
    }
    const target = o && typeof o === 'object' ? (pipe ? o.path : `${o.host || 'localhost'}:${o.port}`) : '';
    process.nextTick(() => this.destroy(denied(`connect ${target}`)));
    return this;
  };
  const dns = require('dns');
  const failCb = (what) => function (...args) {
    const cb = args[args.length - 1];
    if (typeof cb === 'function') process.nextTick(cb, denied(what));
    else throw denied(what);
    return {};
  };
  const failP = (what) => () => Promise.reject(denied(what));
  for (const k of Object.keys(dns)) {
    if (k === 'lookup' || k.startsWith('resolve') || k === 'reverse' || k === 'lookupService') {
      const origCb = dns[k];
      const origP = dns.promises && dns.promises[k];
      const fail = failCb('dns.' + k);
      // Looking up localhost or an IP literal asks no server (server.listen() does it).
      const local = (host) => isLoopback(host) || net.isIP(String(host)) !== 0;
      dns[k] = k === 'lookup'
        ? function lookup(host, ...rest) { return (local(host) ? origCb : fail).call(this, host, ...rest); }
        : fail;
      if (typeof origP === 'function') {
        const failPromise = failP('dns.' + k);
        dns.promises[k] = k === 'lookup'
          ? function lookup(host, ...rest) { return (local(host) ? origP : failPromise).call(this, host, ...rest); }
          : failPromise;
      }
    }
  }
  if (!ISOLATED) {
    const dgram = require('dgram');
    dgram.Socket.prototype.send = function send() {
      throw denied('dgram.send');
    };
  }
  const origFetch = globalThis.fetch;
  globalThis.fetch = function fetch(input, ...rest) {
    let host;
    try {
      host = new URL(typeof input === 'string' || input instanceof URL ? input : input.url).hostname;
    } catch (e) {
      host = null;
    }
    if (ISOLATED && host !== null && isLoopback(host) && typeof origFetch === 'function') {
      return origFetch.call(this, input, ...rest);
    }
    return Promise.reject(new TypeError('fetch failed', { cause: denied(`fetch ${host || ''}`) }));
  };
}

// ------------------------------------------------------------------ `$$` (nel's Context)
const config = { awaitExecution: false };

function formatError(error) {
  try {
    return {
      ename: error && error.name ? String(error.name) : typeof error,
      evalue: error && error.message ? String(error.message) : safeInspect(error),
      traceback: error && error.stack ? String(error.stack).split('\n') : [],
    };
  } catch (e) {
    return { ename: 'Error', evalue: '[the thrown value could not be formatted]', traceback: [] };
  }
}

function errorText(e) {
  const head = e.ename + ': ' + e.evalue;
  const tb = trimTraceback(e.traceback).join('\n');
  if (!tb) return head;
  return tb.includes(head) ? tb : head + '\n' + tb;
}

function defaultMimer(result) {
  if (typeof result === 'undefined') return { 'text/plain': 'undefined' };
  if (result === null) return { 'text/plain': 'null' };
  let mime;
  try {
    if (result._toMime) mime = result._toMime();
  } catch (e) { /* ignore */ }
  if (typeof mime !== 'object' || mime === null) mime = {};
  if (!('text/plain' in mime)) {
    try {
      mime['text/plain'] = inspect(result);
    } catch (e) { /* ignore, as nel does */ }
  }
  return mime;
}

function toMime(result) {
  const mimer = typeof globalThis.$$mimer$$ === 'function' ? globalThis.$$mimer$$ : defaultMimer;
  try {
    const m = mimer(result);
    return m && typeof m === 'object' ? m : {};
  } catch (e) {
    return {};
  }
}

function isPromise(x) {
  const P = globalThis.Promise; // looked up at call time, as nel does
  return typeof P === 'function' && x instanceof P;
}

const noop = () => {};
const displayStub = Object.freeze({
  mime: noop, text: noop, html: noop, svg: noop, png: noop, jpeg: noop, json: noop, close: noop,
});

class Context {
  constructor(id, timeout) {
    this.id = id;
    this.timeout = timeout;
    this._async = false;
    this._done = false;
    this.finished = false;
    this.status = 'ok';
    this.value = '';
    this.error = null;
    this.timer = null;
    this.t0 = 0;
    this.console = null;
    const ctx = this;
    const $$ = Object.create(null);
    Object.defineProperty($$, 'config', { value: config, configurable: false, writable: false, enumerable: false });
    $$.async = function async(value) {
      ctx._async = arguments.length === 0 ? true : !!value;
      return ctx._async;
    };
    $$.done = function done(result) {
      ctx.send({ mime: toMime(result) }, false);
    };
    const resolvePromise = (handler) => function (output, keepAlive) {
      if (isPromise(output)) {
        ctx._async = true;
        output.then((v) => handler(v, keepAlive)).catch((e) => ctx.send({ error: formatError(e) }, false));
        return;
      }
      handler(output, keepAlive);
    };
    const sendMime = (type) => resolvePromise((v, keep) => ctx.send({ mime: { [type]: v } }, keep));
    $$.sendResult = resolvePromise((r, keep) => ctx.send({ mime: toMime(r) }, keep));
    $$.sendError = resolvePromise((e, keep) => ctx.send({ error: formatError(e) }, keep));
    $$.mime = resolvePromise((bundle, keep) => ctx.send({ mime: bundle || {} }, keep));
    $$.text = sendMime('text/plain');
    $$.html = sendMime('text/html');
    $$.svg = sendMime('image/svg+xml');
    $$.png = sendMime('image/png');
    $$.jpeg = sendMime('image/jpeg');
    $$.json = sendMime('application/json');
    $$.input = function input() {
      throw new Error('$$.input() is not supported: sessions have no interactive input');
    };
    $$.display = function display() {
      return displayStub;
    };
    $$.clear = noop;
    this.$$ = $$;
  }

  send(message, keepAlive) {
    if (this._done) return; // nel drops anything sent after the end
    if (keepAlive) {
      this._async = true;
    } else {
      this._async = false;
      this._done = true;
    }
    if (message.error) {
      this.status = 'error';
      this.error = message.error;
    } else {
      const text = message.mime && message.mime['text/plain'];
      this.status = 'ok';
      this.error = null;
      let value = '';
      try {
        value = typeof text === 'string' ? text : text === undefined ? '' : String(text);
      } catch (e) { /* a text/plain that cannot become a string shows nothing */ }
      this.value = value;
    }
    if (!keepAlive) this.finish();
  }

  finish(extra) {
    if (this.finished) return;
    this.finished = true;
    if (this.timer) clearTimeout_(this.timer);
    // Reply once pending microtasks and process.nextTick callbacks have run,
    // so their output belongs to this execution.
    setImmediate_(() => reply(this, extra));
  }
}

// The `$$...$$` globals of nel (setters that send a result of the current execution).
let cur = null;
let last = null;
for (const [g, k] of [['$$mime$$', 'mime'], ['$$html$$', 'html'], ['$$svg$$', 'svg'],
  ['$$png$$', 'png'], ['$$jpeg$$', 'jpeg']]) {
  Object.defineProperty(globalThis, g, {
    set: (v) => last && last.$$[k](v), configurable: true, enumerable: false,
  });
}
Object.defineProperty(globalThis, '$$async$$', {
  get: () => !!(last && last._async),
  set: (v) => { if (last) last._async = !!v; },
  configurable: true,
  enumerable: false,
});
Object.defineProperty(globalThis, '$$defaultMimer$$', {
  value: defaultMimer, configurable: false, writable: false, enumerable: false,
});

// ------------------------------------------------------------------ executions
const queue = [];
let firstRun = true;

function reply(ctx, extra) {
  const o = take(out);
  const e = take(err);
  let value = ctx.status === 'ok' && ctx.value !== 'undefined' ? ctx.value : '';
  let valueDropped = 0;
  if (value.length > limit) {
    valueDropped = value.length - limit;
    value = value.slice(0, limit);
  }
  const msg = {
    ev: 'done',
    id: ctx.id,
    status: ctx.status,
    stdout: o.s,
    stdout_dropped: o.d,
    stderr: e.s,
    stderr_dropped: e.d,
    value: wellFormed(value),
    value_dropped: valueDropped,
    error: ctx.status === 'error' && ctx.error ? wellFormed(errorText(ctx.error)) : '',
    ms: now() - ctx.t0,
  };
  if (extra) Object.assign(msg, extra);
  cur = null;
  limit = DEFAULT_LIMIT; // output until the next execution: that one's limit applies (in Python)
  sendRaw(msg);
  if (queue.length) run(queue.shift());
}

function run(msg) {
  if (cur) {
    queue.push(msg);
    return;
  }
  if (firstRun) {
    // Before the first execution no user code has run: what was captured is
    // Node's own start-up noise (e.g. warnings about the command line).
    firstRun = false;
    take(out);
    take(err);
  }
  limit = msg.limit > 0 ? msg.limit : DEFAULT_LIMIT;
  const timeout = msg.timeout > 0 ? Math.max(1, Math.ceil(msg.timeout)) : 0;
  const ctx = new Context(msg.id, timeout);
  cur = ctx;
  last = ctx;
  installStdio(ctx);
  globalThis.$$ = ctx.$$;
  globalThis.$$done$$ = ctx.$$.done;
  if (typeof globalThis.$$mimer$$ !== 'function') globalThis.$$mimer$$ = defaultMimer;
  ctx.t0 = now();
  let result;
  try {
    result = timeout ? runInThisContext(msg.code, { timeout }) : runInThisContext(msg.code);
  } catch (e) {
    if (e && e.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT' && now() - ctx.t0 >= timeout * 0.9) {
      ctx.status = 'timeout';
      ctx._done = true;
      ctx.finish({ timeout: 'sync' });
      return;
    }
    ctx.$$.sendError(e);
    if (!ctx._done) armTimer(ctx);
    return;
  }
  if (ctx._done) return;
  if (ctx._async) {
    armTimer(ctx);
    return;
  }
  ctx.send({ mime: toMime(result) }, false);
}

function armTimer(ctx) {
  if (!ctx.timeout || ctx.finished) return;
  const left = Math.max(0, ctx.timeout - (now() - ctx.t0));
  ctx.timer = setTimeout_(() => {
    if (ctx._done) return;
    ctx._done = true;
    ctx.status = 'timeout';
    ctx.finish({ timeout: 'async' });
  }, left);
}

// ------------------------------------------------------------------ process exit
process.on('exit', (code) => {
  try {
    sendRaw({
      ev: 'exit',
      code,
      id: cur ? cur.id : null,
      stdout: take(out).s,
      stderr: take(err).s,
    });
  } catch (e) { /* the pipe is gone */ }
});

// ------------------------------------------------------------------ command pipe
const chan = new net.Socket({ fd: CMD_FD, readable: true, writable: false });
let pending = '';
chan.setEncoding('utf8');
chan.on('data', (chunk) => {
  pending += chunk;
  let nl;
  while ((nl = pending.indexOf('\n')) >= 0) {
    const line = pending.slice(0, nl);
    pending = pending.slice(nl + 1);
    if (!line) continue;
    let msg;
    try {
      msg = parse(line);
    } catch (e) {
      continue;
    }
    if (msg.op === 'run') run(msg);
  }
});
// The Python side is gone (or stopped us): remove our temporary directory, leave.
const bye = () => {
  if (OPTS.tmpdir) {
    try {
      fs.rmSync(OPTS.tmpdir, { recursive: true, force: true });
    } catch (e) { /* best effort */ }
  }
  return process.reallyExit ? process.reallyExit(0) : process.exit(0);
};
chan.on('end', bye);
chan.on('error', bye);

sendRaw({ ev: 'ready', pid: process.pid, version: process.version, boot_ms: performance.now() });
})(process, Buffer, Object, JSON, Reflect, String, Math, URL, performance, setImmediate, setTimeout, clearTimeout);
