'use strict';
// acajs-repl kernel harness: one long-lived Node.js process per session.
//
// Reproduces the evaluation loop of iJavaScript 5.2.1 / nel 1.3.0 (see
// docs/kernel.md): every execution is a script run with vm.runInThisContext in
// the main realm, `$$` works as in nel, console and process.stdout/stderr are
// captured per execution.
//
// argv: harness.js <cmd fd> <result fd> <workdir> <options JSON>
// Protocol: Python -> Node on <cmd fd>, a Unix socket used as Node's IPC
// channel (newline-delimited JSON, as nel's server receives its requests):
//   {"op":"run","id":N,"code":"...","timeout":ms,"limit":chars}
// Node -> Python on <result fd> (blocking pipe, newline-delimited JSON,
// written synchronously):
//   {"ev":"ready",...} once, {"ev":"done","id":N,...} per execution,
//   {"ev":"exit",...} when the process exits (process.exit()).
//
// The whole harness is compiled as a script named `[eval]` (nel's server runs
// as `node --eval`), so no stack a session sees names a file of the host.

const loadHarness = require('vm').runInThisContext('(' + harness.toString() + ')', { filename: '[eval]' });
loadHarness(require, process, Buffer, Object, JSON, Reflect, String, Math, URL, performance,
  setImmediate, setTimeout, clearTimeout, __filename);

// The harness's own view of these globals, whatever user code does to them later.
function harness(require, process, Buffer, Object, JSON, Reflect, String, Math, URL, performance,
  setImmediate, setTimeout, clearTimeout, HARNESS_FILE) {
'use strict';
const CMD_FD = +process.argv[2];
const RES_FD = +process.argv[3];
const WORKDIR = process.argv[4];
const OPTS = JSON.parse(process.argv[5] || '{}');
// Keep the harness's own arguments out of the user's sight (nel's kernel runs `node --eval`).
process.argv.splice(1, process.argv.length - 1);
// Nor the harness's path, which the permission model's flags name.
process.execArgv = process.execArgv.filter((a) => !a.includes(HARNESS_FILE));

const fs = require('fs');
const vm = require('vm');
const util = require('util');
const path = require('path');
const Module = require('module');
const { Transform } = require('stream');

// Harness-private copies of things user code may overwrite.
const stringify = JSON.stringify;
const inspect = util.inspect;
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
function writeAll(buf) {
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

function sendRaw(obj) {
  writeAll(Buffer.from(stringify(obj) + '\n', 'utf8'));
}

// A result's long texts follow its line as raw UTF-8 (`raw`: [[field, bytes], ...])
// instead of inside it: JSON.stringify and its copy of 100 MB of output cost more
// than the output's own write (docs/kernel.md, "Results pipe").
const RAW_FIELDS = ['stdout', 'stderr', 'value', 'error'];
const RAW_MIN = 65536;

function sendResult_(msg) {
  let raws = null;
  for (const f of RAW_FIELDS) {
    if (msg[f].length >= RAW_MIN) {
      const b = Buffer.from(msg[f], 'utf8'); // the strings are well-formed: no U+FFFD is made here
      (raws || (raws = [])).push(b);
      (msg.raw || (msg.raw = [])).push([f, b.length]);
      msg[f] = '';
    }
  }
  sendRaw(msg);
  if (raws) for (const b of raws) writeAll(b);
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

// As nel's Stdout/Stderr streams: every chunk is decoded on its own (`data.toString()`,
// so a UTF-8 character split across two Buffer writes gives two U+FFFD), strings in
// another encoding are first made bytes, there is no `fd`.
function makeStream(b) {
  const w = new Transform({ // a Transform, as nel's streams are (their data goes nowhere else here)
    decodeStrings: false,
    transform(chunk, enc, cb) {
      if (typeof chunk === 'string') {
        emit(b, enc && enc !== 'utf8' && enc !== 'utf-8' && enc !== 'buffer' ? Buffer.from(chunk, enc).toString() : chunk);
      } else {
        emit(b, chunk.toString());
      }
      cb();
    },
  });
  // Unlike nel's, these cannot be closed: end() only writes (a session that ends its
  // stdout would otherwise lose every later output).
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

const { Console } = require('console');

// nel's server writes nothing to its fd 1 and 2 that anyone reads (its stdio is
// 'ignore'): writes straight to them from JavaScript are discarded here too.
const isStdioFd = (fd) => fd === 1 || fd === 2;
const origWrite = fs.write;
fs.writeSync = function writeSync(fd, buffer, ...rest) {
  if (!isStdioFd(fd)) return writeSync_.call(this, fd, buffer, ...rest);
  if (typeof buffer === 'string') {
    return Buffer.byteLength(buffer, typeof rest[1] === 'string' ? rest[1] : typeof rest[0] === 'string' ? rest[0] : 'utf8');
  }
  const o = rest[0] !== null && typeof rest[0] === 'object' ? rest[0] : { offset: rest[0], length: rest[1] };
  const offset = o.offset || 0;
  return o.length === undefined || o.length === null ? buffer.byteLength - offset : o.length;
};
const writeSync_ = writeSync;
fs.write = function write(fd, buffer, ...rest) {
  if (!isStdioFd(fd)) return origWrite.call(this, fd, buffer, ...rest);
  const cb = rest[rest.length - 1];
  const n = fs.writeSync(fd, buffer, ...rest.slice(0, -1));
  if (typeof cb === 'function') process.nextTick(cb, null, n, buffer);
};
Object.defineProperty(fs.writeSync, 'name', { value: 'writeSync' });
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

// Under the permission model (the fallback sandbox, when no OS sandbox exists) a
// refused file access throws ERR_ACCESS_DENIED where a machine of its own (the
// service's session) would answer: existence checks say false, reads fail with
// ENOENT, writes with EACCES, in Node's usual error shape.
const WRITES = new Set(['appendFile', 'chmod', 'chown', 'lchmod', 'lchown', 'lutimes', 'mkdir', 'mkdtemp',
  'rm', 'rmdir', 'truncate', 'unlink', 'utimes', 'writeFile', 'copyFile', 'cp', 'link', 'rename', 'symlink']);
const SYSCALLS = { readFile: 'open', readdir: 'scandir', exists: 'access', realpath: 'lstat', opendir: 'opendir', glob: 'scandir' };
function refusal(e, base, args) {
  if (!e || e.code !== 'ERR_ACCESS_DENIED') return e;
  let write = WRITES.has(base);
  if (base === 'open') {
    const flags = args[1];
    write = !(flags === undefined || flags === null || flags === 'r' || flags === 'rs' || flags === 'sr' || flags === 0);
  }
  const code = write ? 'EACCES' : 'ENOENT';
  const syscall = SYSCALLS[base] || base;
  const p = typeof args[0] === 'string' ? args[0] : String(args[0]);
  const x = new Error(`${code}: ${write ? 'permission denied' : 'no such file or directory'}, ${syscall} '${p}'`);
  x.errno = write ? -13 : -2;
  x.code = code;
  x.syscall = syscall;
  x.path = p;
  return x;
}
const NO_REFUSAL = new Set(['createReadStream', 'createWriteStream', 'watch', 'watchFile', 'unwatchFile', 'openAsBlob']);
function refusing(orig, name, promised) {
  const base = name.endsWith('Sync') ? name.slice(0, -4) : name;
  if (!OPTS.sandboxed || NO_REFUSAL.has(base)) return orig;
  if (name === 'existsSync') {
    return function existsSync(...args) {
      try {
        return orig.apply(this, args);
      } catch (e) {
        if (e && e.code === 'ERR_ACCESS_DENIED') return false;
        throw e;
      }
    };
  }
  if (name.endsWith('Sync')) {
    return function (...args) {
      try {
        return orig.apply(this, args);
      } catch (e) {
        throw refusal(e, base, args);
      }
    };
  }
  if (promised) {
    return function (...args) {
      try {
        return orig.apply(this, args).catch((e) => { throw refusal(e, base, args); });
      } catch (e) {
        return Promise.reject(refusal(e, base, args));
      }
    };
  }
  return function (...args) {
    const cb = args[args.length - 1];
    if (typeof cb === 'function') {
      args[args.length - 1] = name === 'exists'
        ? cb
        : function (e, ...rest) { return cb.call(this, e ? refusal(e, base, args) : e, ...rest); };
    }
    try {
      return orig.apply(this, args);
    } catch (e) {
      if (name === 'exists' && e && e.code === 'ERR_ACCESS_DENIED') {
        process.nextTick(cb, false);
        return undefined;
      }
      throw refusal(e, base, args);
    }
  };
}

function wrap(obj, name, nargs, promised) {
  const orig = obj[name];
  if (typeof orig !== 'function') return;
  const inner = refusing(orig, name, promised);
  const w = nargs === 2
    ? function (a, b, ...rest) { return inner.call(this, mapPath(a), mapPath(b), ...rest); }
    : function (a, ...rest) { return inner.call(this, mapPath(a), ...rest); };
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
    for (const n of ONE) wrap(p, n, 1, true);
    for (const n of TWO) wrap(p, n, 2, true);
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
delete Module._cache[HARNESS_FILE];
// Built-in modules as lazy globals first, then the globals of the script, in the order
// in which `node --eval` defines them.
for (const name of Module.builtinModules) {
  if (name[0] === '_' || name.includes('/') || name.startsWith('node:') || name === 'module') continue;
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
for (const [k, v] of [['__filename', '[eval]'], ['module', Module], ['exports', evalModule.exports],
  ['__dirname', '.'], ['require', userRequire]]) {
  Object.defineProperty(globalThis, k, { value: v, writable: true, enumerable: true, configurable: true });
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

// ------------------------------------------------------------------ nel's server, line for line
// The functions below are nel 1.3.0's (lib/server/context.js, display.js and
// main.js; BSD-3-Clause, Copyright (c) 2015-2017 Nicolas Riesco and others),
// kept where they change what user code can observe, and adapted where the
// transport differs (results go to Python through deliver()). They are not
// called here: their source is laid out at the line numbers they have in nel's
// `[eval]` script and compiled as a script named `[eval]` (nelScript below), so
// every stack that passes through them reads as on the service:
//   at Object.runInThisContext (node:vm:...)
//   at run ([eval]:1020:15)
//   at onRunRequest ([eval]:864:18)
//   at onMessage ([eval]:828:13)
//   at process.emit (node:events:...)   (the command arrives on Node's IPC channel, as in nel)
// Indentation is nel's too: columns are part of a stack frame.

/* eslint-disable */
function Context(id) {
    this.id = id;
    this.stdout = makeStream(out);
    this.stderr = makeStream(err);
    this.console = new Console(this.stdout, this.stderr);
    this._async = false;
    this._done = false;
    this.finished = false; this.errors = []; this.value = null; this.timer = null; this.t0 = 0; this.options = undefined; this.interrupt = false;
    this.$$ = Object.create(null);
    Context.config = Context.config || {
        awaitExecution: false,
    };
    Object.defineProperty(this.$$, "config", {
        value: Context.config,
        configurable: false,
        writable: false,
        enumerable: false,
    });

    this.$$.async = (function async(value) {
        this._async = (arguments.length === 0) ? true : !!value;
        return this._async;
    }).bind(this);

    this.$$.done = (function done(result) {
        this.send({
            mime: toMime(result),
        }, false);
    }).bind(this);

    this.$$.sendResult = resolvePromise.call(this, this.sendResult);

    this.$$.sendError = resolvePromise.call(this, this.sendError);

    this.$$.mime = resolvePromise.call(this,
        function sendMime(mimeBundle, keepAlive) {
            this.send({
                mime: mimeBundle,
            }, keepAlive);
        }
    );

    this.$$.text = resolvePromise.call(this,
        function sendText(text, keepAlive) {
            this.send({
                mime: {
                    "text/plain": text,
                },
            }, keepAlive);
        }
    );

    this.$$.html = resolvePromise.call(this,
        function sendHtml(html, keepAlive) {
            this.send({
                mime: {
                    "text/html": html,
                },
            }, keepAlive);
        }
    );

    this.$$.svg = resolvePromise.call(this,
        function sendSvg(svg, keepAlive) {
            this.send({
                mime: {
                    "image/svg+xml": svg,
                },
            }, keepAlive);
        }
    );

    this.$$.png = resolvePromise.call(this,
        function sendPng(png, keepAlive) {
            this.send({
                mime: {
                    "image/png": png,
                },
            }, keepAlive);
        }
    );

    this.$$.jpeg = resolvePromise.call(this,
        function sendJpeg(jpeg, keepAlive) {
            this.send({
                mime: {
                    "image/jpeg": jpeg,
                },
            }, keepAlive);
        }
    );

    this.$$.json = resolvePromise.call(this,
        function sendJson(json, keepAlive) {
            this.send({
                mime: {
                    "application/json": json,
                },
            }, keepAlive);
        }
    );

    // No interactive input on the service's sessions either: nel would wait for a
    // reply that never comes until the execution times out; this says why at once.
    this.$$.input = (function input(options, callback) {
        throw new Error("$$.input() is not supported: sessions have no interactive input");
    }).bind(this);

    this.$$.display = (function createDisplay(id) {
        return (arguments.length === 0) ?
            new Display(this.id) :
            new Display(this.id, id);
    }).bind(this);

    this.$$.clear = (function clear(options) {
    }).bind(this);
}

    function resolvePromise(outputHandler) {
        return function(output, keepAlive) {
            if (isPromise(output)) {
                this.$$.async();

                output.then(function(resolvedOutput) {
                    outputHandler.call(this, resolvedOutput, keepAlive);
                }.bind(this)).catch(function(error) {
                    this.sendError(error, false);
                }.bind(this));

                return;
            }

            outputHandler.apply(this, arguments);
        }.bind(this);
    }

function sendResult(result, keepAlive) {
    this.send({
        mime: toMime(result),
    }, keepAlive);
}

function sendError(error, keepAlive) {
    this.send({
        error: formatError(error),
    }, keepAlive);
}

function send(message, keepAlive) {
    if (this._done) {
        return;
    }

    if (keepAlive) {
        this.$$.async();
    } else {
        this.done();
    }

    deliver(this, message, keepAlive);
}

function done() {
    this._async = false;
    this._done = true;
}

function formatError(error) {
    try {
        return {
            ename: (error && error.name) ?
                String(error.name) : typeof error,
            evalue: (error && error.message) ?
                String(error.message) : util.inspect(error),
            traceback: (error && error.stack) ?
                String(error.stack).split("\n") : [],
        };
    } catch (e) {
        return { ename: "Error", evalue: "[the thrown value could not be formatted]", traceback: [] };
    }
}

function toMime(result) {
    var mimer = (typeof global.$$mimer$$ === "function") ?
        global.$$mimer$$ :
        defaultMimer;
    return mimer(result);
}

function defaultMimer(result) { // eslint-disable-line complexity
    if (typeof result === "undefined") {
        return {
            "text/plain": "undefined"
        };
    }

    if (result === null) {
        return {
            "text/plain": "null"
        };
    }

    var mime;
    if (result._toMime) {
        try {
            mime = result._toMime();
        } catch (error) {}
    }
    if (typeof mime !== "object") {
        mime = {};
    }

    if (!("text/plain" in mime)) {
        try {
            mime["text/plain"] = util.inspect(result);
        } catch (error) {}
    }

    if (result._toHtml && !("text/html" in mime)) {
        try {
            mime["text/html"] = result._toHtml();
        } catch (error) {}
    }

    if (result._toSvg && !("image/svg+xml" in mime)) {
        try {
            mime["image/svg+xml"] = result._toSvg();
        } catch (error) {}
    }

    if (result._toPng && !("image/png" in mime)) {
        try {
            mime["image/png"] = result._toPng();
        } catch (error) {}
    }

    if (result._toJpeg && !("image/jpeg" in mime)) {
        try {
            mime["image/jpeg"] = result._toJpeg();
        } catch (error) {}
    }

    return mime;
}

// There is no display channel: what a Display sends goes nowhere (nel sends it to a
// Jupyter front end, which the service does not return either).
function Display(context_id, display_id) { // eslint-disable-line no-unused-vars
    var send = function send(mime) {};

    this.mime = function mime(mimeBundle) {
        send(mimeBundle);
    };

    this.text = function text(text) {
        send({"text/plain": text});
    };

    this.html = function html(html) {
        send({"text/html": html});
    };

    this.svg = function svg(svg) {
        send({"image/svg+xml": svg});
    };

    this.png = function png(png) {
        send({"image/png": png});
    };

    this.jpeg = function jpeg(jpeg) {
        send({"image/jpeg": jpeg});
    };

    this.json = function json(json) {
        send({"application/json": json});
    };

    this.close = function close() {
    };
}

function onUncaughtException(error) {
    var text;
    try {
        text = error.stack.toString();
    } catch (e) {
        text = uncaughtText(error);
    }
    emitStderr(text);
}

function onMessage(message) {
    var code = message && message.code;
    var context = begin(message);
    if (!context) {
        return;
    }

    try {
        if (message.op === "run") {
            onRunRequest(code, context);
        }
    } catch (error) {
        failed(context, error);
    }
    settle(context);
}

function onRunRequest(code, context) {
    var result = run(code, context);

    // If a result has already been sent, do not send this result.
    if (context._done) {
        return;
    }

    // If async mode has been enabled, do not send this result.
    if (context._async) {
        return;
    }

    // If no result has been sent yet and async mode has not been enabled,
    // send this result.
    if (context.$$.config.awaitExecution) {
        context.$$.sendResult(result);
    } else {
        context.sendResult(result);
    }

    return;
}

function run(code, context) {
    return vm.runInThisContext(code, context.options);
}
/* eslint-enable */

// [line in nel's `[eval]`, function, a line of its source that must land on that line]
const NEL_LAYOUT = [
  [223, Context, 'mime: toMime(result),'],
  [355, resolvePromise, 'outputHandler.apply(this, arguments);'],
  [362, sendResult, 'mime: toMime(result),', 'Context.prototype.sendResult = '],
  [368, sendError, 'error: formatError(error),', 'Context.prototype.sendError = '],
  [372, send, null, 'Context.prototype.send = '],
  [392, done, null, 'Context.prototype.done = '],
  [500, formatError, null], // nel: 516, a few lines shorter (ours never throws)
  [531, toMime, 'return mimer(result);'],
  [534, defaultMimer, null],
  [653, Display, null],
  [799, onUncaughtException, null],
  [828, onMessage, 'onRunRequest(code, context);'],
  [864, onRunRequest, 'var result = run(code, context);'],
  [1020, run, 'return vm.runInThisContext('],
];
const NEL_NAMES = ['Context', 'toMime', 'defaultMimer', 'formatError', 'Display', 'onUncaughtException', 'onMessage'];
const NEL_DEPS = ['global', 'util', 'vm', 'Object', 'Console', 'makeStream', 'out', 'err', 'isPromise', 'deliver',
  'begin', 'failed', 'settle', 'emitStderr', 'uncaughtText'];

function nelScript() {
  const lines = ['(function (' + NEL_DEPS.join(', ') + ') {'];
  for (const [target, fn, marker, prefix] of NEL_LAYOUT) {
    const src = (prefix || '') + fn.toString() + (prefix ? ';' : '');
    const fnLines = src.split('\n');
    const at = marker ? fnLines.findIndex((l) => l.includes(marker)) : 0;
    const first = target - at; // 1-based line of the function's first line
    if (at < 0 || first <= lines.length) throw new Error(`nel layout: cannot place ${fn.name} at line ${target}`);
    while (lines.length < first - 1) lines.push('');
    lines.push(...fnLines);
  }
  lines.push('return { ' + NEL_NAMES.join(', ') + ' };', '})');
  return lines.join('\n');
}

// ------------------------------------------------------------------ executions
// Stopping synchronous code at the timeout. vm's `timeout` option starts and joins a
// watchdog thread per call (~0.1 ms of CPU, most of the kernel's own per-call cost).
// Node's SIGINT watchdog thread can instead stay up for the whole process (started
// once here, as the REPL does): each call then only registers with it
// (`breakOnSigint`, ~2 us), and Python sends SIGINT when the timeout is up
// (`interrupt: 'sigint'` in the command says it will). A SIGINT while no script
// runs is only noted by Node, never fatal. Under Node's permission model the binding
// is refused: the `timeout` option is used.
const SIGINT_WATCHDOG = (() => {
  try {
    return process.binding('contextify').startSigintWatchdog() === true;
  } catch (e) {
    return false;
  }
})();
const BREAK_ON_SIGINT = Object.freeze({ breakOnSigint: true });
// A `process.on('SIGINT')` of the user's would make libuv take the signal from the
// watchdog (and, once removed, leave SIGINT fatal): such listeners are kept by the
// emitter as usual, but Node is not asked to listen for the signal. Nothing sends a
// session's kernel SIGINT but its timeout, on the service as here.
if (SIGINT_WATCHDOG) {
  for (const [event, name] of [['newListener', 'startListeningIfSignal'], ['removeListener', 'stopListeningIfSignal']]) {
    const orig = process.listeners(event).find((f) => f.name === name);
    if (!orig) continue;
    const filtered = { [name](type, ...rest) { if (type !== 'SIGINT') return orig.call(this, type, ...rest); } }[name];
    const all = process.listeners(event);
    process.removeAllListeners(event);
    for (const f of all) process.on(event, f === orig ? filtered : f);
  }
}

function isPromise(x) {
  const P = globalThis.Promise; // looked up at call time, as nel does
  return typeof P === 'function' && x instanceof P;
}
function safeInspect(v) {
  try {
    return inspect(v);
  } catch (e) {
    return '[uninspectable value]';
  }
}
// nel's handler fails on a thrown value without a stack (`throw 5` in a timer) and
// its server dies; the kernel says what was thrown and lives on.
const uncaughtText = (e) => 'Uncaught ' + safeInspect(e);
const emitStderr = (text) => emit(err, text);

let cur = null; // the execution whose result is awaited
let last = null; // the execution that captured the globals last (nel's captured context)
const queue = [];
let firstRun = true;

function setGlobal(obj, key, value) {
  try {
    delete obj[key];
    obj[key] = value;
  } catch (e) { /* made read-only by user code: left as it is, as nel would */ }
}

// nel's captureGlobalContext: the execution's own streams, console, `$$` and `$$done$$`.
function capture(ctx) {
  setGlobal(process, 'stdout', ctx.stdout);
  setGlobal(process, 'stderr', ctx.stderr);
  ctx.console.Console = Console;
  setGlobal(globalThis, 'console', ctx.console);
  setGlobal(globalThis, '$$', ctx.$$);
  if (typeof globalThis.$$mimer$$ !== 'function') globalThis.$$mimer$$ = nel.defaultMimer;
  // (nel also deletes and defines its `$$mime$$`... setters again here; they are defined
  // once below instead: redefining accessors on the global object costs ~0.07 ms a call)
  try {
    globalThis.$$done$$ = ctx.$$.done.bind(ctx);
  } catch (e) { /* read-only */ }
  last = ctx;
}

function begin(msg) {
  if (msg === null || typeof msg !== 'object') return null;
  if (cur) {
    queue.push(msg);
    return null;
  }
  if (firstRun) {
    // Before the first execution no user code has run: what was captured is
    // Node's own start-up noise (e.g. warnings about the command line).
    firstRun = false;
    take(out);
    take(err);
  }
  limit = msg.limit > 0 ? msg.limit : DEFAULT_LIMIT;
  const ctx = spare || new nel.Context(msg.id);
  spare = null;
  ctx.id = msg.id;
  ctx.timeout = msg.timeout > 0 ? Math.max(1, Math.ceil(msg.timeout)) : 0;
  ctx.interrupt = ctx.timeout && msg.interrupt === 'sigint' && SIGINT_WATCHDOG;
  ctx.options = !ctx.timeout ? undefined : ctx.interrupt ? BREAK_ON_SIGINT : { timeout: ctx.timeout };
  cur = ctx;
  capture(ctx);
  ctx.t0 = now();
  return ctx;
}

function failed(ctx, error) {
  const stopped = error && (ctx.interrupt ? error.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED' : error.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT');
  if (stopped && ctx.timeout && !ctx._done && now() - ctx.t0 >= ctx.timeout * 0.9) {
    ctx._done = true;
    ctx._async = false;
    finish(ctx, { timeout: 'sync' });
    return;
  }
  try {
    ctx.$$.sendError(error);
  } catch (e) {
    ctx.sendError(error, false);
  }
}

function settle(ctx) {
  if (!ctx._done && !ctx.finished) armTimer(ctx);
}

function textOf(mime) {
  if (mime === null || typeof mime !== 'object') return '';
  try {
    const text = mime['text/plain'];
    return typeof text === 'string' ? text : text === undefined || text === null ? '' : String(text);
  } catch (e) {
    return ''; // a text/plain that cannot become a string shows nothing
  }
}

// Context#send's way out: every result and error is kept, the end replies at once
// (output produced after it, by microtasks or callbacks, goes to the next execution).
function deliver(ctx, message, keepAlive) {
  if (ctx.finished) return;
  if (message.error) ctx.errors.push(message.error);
  else ctx.value = textOf(message.mime);
  if (!keepAlive) finish(ctx);
}

function finish(ctx, extra) {
  if (ctx.finished) return;
  ctx.finished = true;
  if (ctx.timer) clearTimeout_(ctx.timer);
  reply(ctx, extra);
}

function errorText(e) {
  const head = e.ename + ': ' + e.evalue;
  const tb = e.traceback.join('\n');
  if (!tb) return head;
  return tb.includes(head) ? tb : head + '\n' + tb;
}

function reply(ctx, extra) {
  const o = take(out);
  const e = take(err);
  let value = ctx.value === null || ctx.value === 'undefined' ? '' : ctx.value;
  let valueDropped = 0;
  if (value.length > limit) {
    valueDropped = value.length - limit;
    value = value.slice(0, limit);
  }
  const msg = {
    ev: 'done',
    id: ctx.id,
    status: extra ? 'timeout' : ctx.errors.length ? 'error' : 'ok',
    stdout: o.s,
    stdout_dropped: o.d,
    stderr: e.s,
    stderr_dropped: e.d,
    value: extra ? '' : wellFormed(value),
    value_dropped: valueDropped,
    error: extra ? '' : wellFormed(ctx.errors.map(errorText).join('\n')),
    ms: now() - ctx.t0,
  };
  if (extra) Object.assign(msg, extra);
  if (cur === ctx) cur = null;
  limit = DEFAULT_LIMIT; // output until the next execution: that one's limit applies (in Python)
  sendResult_(msg);
  // The next execution's context (its console alone costs ~25 us to make) is made
  // now that the result is on its way, not once the next command has arrived.
  if (!spare) spare = new nel.Context(0);
  if (queue.length && !cur) setImmediate_(() => nel.onMessage(queue.shift()));
}

let spare = null;

function armTimer(ctx) {
  if (!ctx.timeout || ctx.finished) return;
  const left = Math.max(0, ctx.timeout - (now() - ctx.t0));
  ctx.timer = setTimeout_(() => {
    if (ctx._done) return;
    ctx._done = true;
    ctx._async = false;
    finish(ctx, { timeout: 'async' });
  }, left);
}

const nel = vm.runInThisContext(nelScript(), { filename: '[eval]' })(
  globalThis, util, vm, Object, Console, makeStream, out, err, isPromise, deliver,
  begin, failed, settle, emitStderr, uncaughtText);

// The `$$...$$` globals of nel: setters that send a result of the last execution.
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
  value: nel.defaultMimer, configurable: false, writable: false, enumerable: false,
});

// nel's session starts with an execution of its own (`$$.config.awaitExecution = false;`):
// the globals it captures come before the user's on the global object.
{
  const first = new nel.Context(0);
  first._done = true;
  first.finished = true;
  capture(first);
}

// Uncaught exceptions and unhandled rejections (Node turns those into uncaught
// exceptions) never end the kernel: their stack goes to stderr, as nel sends it.
process.on('uncaughtException', nel.onUncaughtException.bind(undefined));

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

// ------------------------------------------------------------------ command channel
// Commands arrive as nel's requests do: on Node's IPC channel (`process.on('message')`).
require('child_process')._forkChild(CMD_FD, 'json');
process.on('message', nel.onMessage.bind(undefined));
// The Python side is gone (or stopped us): remove our temporary directory, leave.
const bye = () => {
  if (OPTS.tmpdir) {
    try {
      fs.rmSync(OPTS.tmpdir, { recursive: true, force: true });
    } catch (e) { /* best effort */ }
  }
  return process.reallyExit ? process.reallyExit(0) : process.exit(0);
};
process.on('disconnect', bye);

sendRaw({ ev: 'ready', pid: process.pid, version: process.version, boot_ms: performance.now(), sigint: SIGINT_WATCHDOG });
}
