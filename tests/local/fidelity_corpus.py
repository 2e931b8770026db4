"""Snippets run through both our kernel and nel 1.3.0 (iJavaScript 5.2.1's evaluator).

Each inner list is one session: its snippets run in order in one kernel, so
state (and redeclaration errors) carry over.  Output that arrives after an
execution's result goes with the next execution in both (timers, promise
callbacks, process.nextTick); snippets that produce such output are followed by
one that collects it before its own end, so the comparison does not depend on
timing.
"""

from __future__ import annotations

VALUES = [
    "42",
    "-0",
    "0.1 + 0.2",
    "NaN",
    "Infinity",
    "2 ** 64",
    "123n",
    "'hi'",
    "\"it's\"",
    "'multi\\nline'",
    "'x'.repeat(20000)",
    "true",
    "false",
    "null",
    "undefined",
    "Symbol('sym')",
    "Symbol.iterator",
    "[1, 'two', [3, [4, [5, [6]]]]]",
    "Array.from({length: 150}, (_, i) => i)",
    "[ , 1, , ]",
    "({a: 1, b: 'x', c: [1, 2], d: {e: {f: {g: {h: 1}}}}})",
    "({'key with space': 1, [Symbol('s')]: 2})",
    "Object.create(null)",
    "new Map([[1, {a: 1}], ['k', [2]]])",
    "new Set([1, 'a', [2]])",
    "new WeakMap()",
    "new Date(0)",
    "/ab+c/gi",
    "(function named(a, b) { return a + b; })",
    "(() => 1)",
    "(async function af() {})",
    "(function* gen() {})",
    "class Animal { constructor() { this.legs = 4; } }; new Animal()",
    "Animal",
    "new Error('as a value')",
    "new Uint8Array([1, 2, 3])",
    "Buffer.from('hey')",
    "new ArrayBuffer(4)",
    "Promise.resolve(5)",
    "new Promise(() => {})",
    "(() => { const o = {name: 'o'}; o.self = o; return o; })()",
    "({get g() { return 1; }, set s(v) {}})",
    "new Proxy({a: 1}, {})",
    "[undefined, null]",
    "({u: undefined})",
    "'\\u00e9\\u4e2d\\ud83d\\ude00'",
    "JSON.parse('{\"x\": [1, 2, {\"y\": null}]}')",
    "typeof require + ' ' + typeof fs + ' ' + typeof path + ' ' + __filename + ' ' + __dirname",
    "[typeof require.main, typeof process.mainModule, module.id, path.basename(module.filename), module.loaded]",
    "[module.paths[0] === path.join(process.cwd(), 'node_modules'), require.resolve.paths('x')[0] === module.paths[0]]",
    "[exports === module.exports, Object.keys(require.cache).length, typeof require.extensions]",
    "process.argv.length",
    "var v1 = 1; v1",
    "if (true) { 'block completion' }",
    "for (var i = 0; i < 3; i++) i * 2",
    "let declared = 3",
    "declared * 2",
    "function hoisted() { return 'h'; }",
    "hoisted()",
]

ERRORS = [
    "throw new Error('plain')",
    "throw new TypeError('typed')",
    "undefinedFunction()",
    "null.prop",
    "(function deep() { (function deeper() { throw new RangeError('from deeper'); })(); })()",
    "class MyError extends Error { constructor(m) { super(m); this.name = 'MyError'; } }; throw new MyError('custom')",
    "throw new Error('with cause', {cause: new Error('the cause')})",
    "throw 'a string'",
    "throw 42",
    "throw {code: 'E'}",
    "throw null",
    "throw undefined",
    "let a = ;",
    "}",
    "JSON.parse('{bad')",
    "await Promise.resolve(1)",
    "const e = new Error('no stack'); e.stack = undefined; throw e",
    "const e2 = new Error(''); throw e2",
    "console.log('before'); console.error('err before'); throw new Error('after output')",
]

REDECLARATIONS = [
    "let x = 1",
    "let x = 2",
    "const c = 1",
    "const c = 2",
    "c = 3",
    "class K {}",
    "class K {}",
    "var x = 5",
    "var vv = 1",
    "var vv = 2; vv",
    "function f() { return 1; }",
    "function f() { return 2; }; f()",
    "x",
]

DOLLAR = [
    "$$.async(); setTimeout(() => $$.done('done later'), 10)",
    "$$.async(); setTimeout(() => $$.sendResult([1, 2]), 10)",
    "$$.async(); setTimeout(() => $$.sendError(new Error('sent error')), 10)",
    "$$.sendResult(new Promise(r => setTimeout(() => r({p: 1}), 10)))",
    "$$.sendResult(Promise.reject(new TypeError('rejected promise')))",
    "$$.sendError(Promise.resolve(new Error('resolved into sendError')))",
    "$$.done(1); 2",
    "$$.done(); 3",
    "$$.done('first'); $$.done('second')",
    "$$.async(); $$.async(false); 'sync after all'",
    "$$.done(undefined)",
    "$$.text('plain text')",
    "$$.mime({'text/plain': 'from mime', 'text/html': '<b>x</b>'})",
    "$$.html('<b>html only</b>')",
    "({_toMime() { return {'text/plain': 'custom mime'}; }})",
    "$$.done(null)",
    "typeof $$.async",
    "$$.config.awaitExecution",
    "$$.async(); setTimeout(() => { console.log('out before done'); $$.done('x'); }, 10)",
    "$$.async(); Promise.resolve().then(() => $$.sendError('not an error object'))",
    "$$.sendResult('first', true); setTimeout(() => $$.done('second'), 5)",
    "$$.async(); setTimeout(() => { throw new Error('thrown in a timer'); }, 5); "
    "setTimeout(() => $$.done('survived'), 30)",
    "$$.async(); Promise.reject(new RangeError('unhandled')); setTimeout(() => $$.done('survived too'), 30)",
    "this === globalThis",
    "Object.keys(globalThis).sort().join(' ')",
    "typeof $$mimer$$ + ' ' + typeof $$done$$ + ' ' + typeof $$defaultMimer$$",
]

CONSOLE = [
    "console.log('log')",
    "console.info('info')",
    "console.debug('debug')",
    "console.error('error')",
    "console.warn('warn')",
    "console.log('%s is %d years', 'Bob', 42, 'extra')",
    "console.log({a: [1, {b: 2}]}, [3], null, undefined, 1n, Symbol('x'))",
    "console.log('a'); console.error('b'); console.log('c'); 'value'",
    "console.dir({deep: {er: {and: {deeper: 1}}}})",
    "console.table([{a: 1, b: 2}])",
    "process.stdout.write('no newline')",
    "process.stderr.write('to stderr\\n')",
    "console.log('\\u00e9\\ud83d\\ude00')",
    "console.log(new Error('logged error').message)",
    "console.assert(1 === 2, 'assertion message')",
    "console.count(); console.count()",
    "console.group('g'); console.log('inside'); console.groupEnd(); console.log('outside')",
    "for (let i = 0; i < 3; i++) console.log(i)",
    "console.count('c')",
    "console.count('c')",
    "console.group('open group'); console.log('indented')",
    "console.log('a fresh console is not indented')",
    "const keptConsole = console; keptConsole.log('same stream')",
    "console === keptConsole",
]

SESSIONS = [VALUES, ERRORS, REDECLARATIONS, DOLLAR, CONSOLE]

# ---------------------------------------------------------------- second pass (issue 15)
# Each list is one fresh session; a snippet whose output arrives after its result is
# followed by one that collects it (output after the result goes with the next
# execution, in nel and in ours).

# 1. stack frames below the user's code: nel's own, no path of the host
STACKS = [
    "new TypeError('x')",
    "console.trace('t')",
    "console.trace()",
    "throw new Error()",
    "function makeError() { return new Error('made') }; makeError()",
    "(() => { throw new RangeError('arrow') })()",
    "try { null.x } catch (e) { e.stack }",
    "[1].map(() => { throw new Error('in map') })",
    "$$.sendError(new Error('sent'))",
    "new Error('lines').stack.split('\\n').length",
    "Error.stackTraceLimit = 3; new Error('short')",
]

# 2. output produced after the result is sent: with the next execution
LATE = [
    "queueMicrotask(() => console.log('m')); 'sync'",
    "'next'",
    "Promise.resolve().then(() => console.log('then')); 1",
    "2",
    "process.nextTick(() => console.error('tick')); 3",
    "4",
    "$$.done('v'); console.log('after done')",
    "5",
    "Promise.reject(new Error('unhandled')); 6",
    "7",
    "Promise.reject(42); 8",
    "9",
    "(async () => { throw new TypeError('async throw') })(); 10",
    "11",
    "$$.async(); setTimeout(() => { $$.done('t'); console.log('after t'); }, 5)",
    "12",
    "setTimeout(() => console.log('timer'), 0); 13",
    "$$.async(); setTimeout(() => $$.done(14), 50)",
    "$$.async(); Promise.resolve().then(() => { $$.sendResult('kept', true); console.log('between'); $$.done('end'); "
    "console.log('late'); })",
    "15",
]

# 3. uncaught exceptions in callbacks: error.stack as it is, no newline added
CALLBACK_THROWS = [
    "$$.async(); setTimeout(() => { throw new Error('t') }, 5); setTimeout(() => $$.done('ok'), 40)",
    "$$.async(); setTimeout(() => { throw new Error('t1') }, 1); setTimeout(() => { throw new Error('t2') }, 3); "
    "setTimeout(() => $$.done('both'), 40)",
    "$$.async(); setTimeout(() => { console.log('before'); throw new SyntaxError('cb') }, 1); "
    "setTimeout(() => $$.done('x'), 40)",
    "$$.async(); setImmediate(() => { throw new Error('immediate') }); setTimeout(() => $$.done('y'), 40)",
]

# 4. `$$` itself
DOLLAR_SHAPE = [
    "[$$.async, $$.done, $$.sendResult, $$.sendError, $$.mime, $$.text, $$.html, $$.input, $$.display, $$.clear]",
    "$$.display()",
    "$$.display('some-id')",
    "$$done$$ === $$.done",
    "$$done$$",
    "Object.keys($$).join(' ')",
    "$$.display().constructor.name + ' ' + ($$.display() === $$.display())",
    "$$.display().text('shown nowhere')",
    "$$.clear()",
    "$$done$$('via $$done$$')",
    "const savedDollar = $$; 1",
    "savedDollar === $$",
]

# 5. errors while formatting the result fail the execution
FORMAT_ERRORS = [
    "new Proxy({}, {get() { throw new Error('trap') }})",
    "({get _toMime() { throw new Error('getter _toMime') }})",
    "({get _toHtml() { throw new Error('getter _toHtml') }})",
    "({_toMime: () => null})",
    "({_toMime: () => 'a string'})",
    "({_toMime() { throw new Error('swallowed') }, shown: 1})",
    "({_toHtml: () => '<b>h</b>', shown: 2})",
    "$$.done(new Proxy({}, {get() { throw new Error('trap in done') }}))",
    "$$mimer$$ = () => { throw new Error('mimer') }; 1",
    "2",
    "$$mimer$$ = (r) => ({'text/plain': 'custom ' + typeof r}); 3",
    "$$mimer$$ = $$defaultMimer$$; 4",
]

# 6. $$.config.awaitExecution
AWAIT_EXECUTION = [
    "Promise.resolve('not awaited')",
    "$$.config.awaitExecution = true; 1",
    "Promise.resolve('v')",
    "Promise.reject(new Error('rejected'))",
    "new Promise((r) => setTimeout(() => r({late: 1}), 10))",
    "'plain'",
    "$$.config.awaitExecution = false; Promise.resolve(2)",
]

# 7. keep-alive errors and results
KEEP_ALIVE = [
    "$$.sendError(new Error('kept'), true); $$.done('v')",
    "$$.sendError(new Error('e1'), true); $$.sendError(new Error('e2'))",
    "$$.sendResult('r1', true); $$.sendError(new Error('then error'))",
    "$$.sendError(new Error('kept2'), true); setTimeout(() => $$.done('later'), 10)",
    "$$.sendResult('a', true); $$.sendResult('b', true); $$.done('c')",
]

# 8. stdout plumbing
STDIO = [
    "[process.stdout.fd, process.stderr.fd]",
    "fs.writeSync(1, 'x\\n')",
    "fs.writeSync(2, 'y\\n'); 'after'",
    "const eu = Buffer.from('\\u20ac'); process.stdout.write(eu.subarray(0, 2)); "
    "process.stdout.write(eu.subarray(2)); 1",
    "process.stdout.write('aGk=', 'base64'); process.stdout.write(Buffer.from('\\n')); 2",
    "(({writable, enumerable, configurable, get}) => [writable, enumerable, configurable, "
    "typeof get])(Object.getOwnPropertyDescriptor(globalThis, 'console'))",
    "(({writable, enumerable, configurable}) => [writable, enumerable, "
    "configurable])(Object.getOwnPropertyDescriptor(process, 'stdout'))",
    "const so = process.stdout; 3",
    "so === process.stdout",
    "[typeof process.send, process.connected, 'NODE_CHANNEL_FD' in process.env]",
    "console.Console === require('console').Console",
]

# 9. the global object
GLOBALS = [
    "Object.keys(globalThis)",
    "var gv = 1; let gl = 2; globalThis.gx = 3; Object.keys(globalThis).slice(-6)",
    "delete globalThis.gx; Object.keys(globalThis).slice(-4)",
    # (nel defines its `$$mime$$`... setters again at every execution; ours once: not compared)
    "Object.getOwnPropertyNames(globalThis).filter((n) => !/^[$][$](mime|html|svg|png|jpeg|async)[$][$]$/.test(n))"
    ".slice(-8).join(' ')",
    "Object.keys(process).slice(-8).join(' ')",
    "$$html$$ = '<b>only html</b>'",
    "[$$async$$, typeof $$defaultMimer$$, $$mimer$$ === $$defaultMimer$$]",
]

SESSIONS += [STACKS, LATE, CALLBACK_THROWS, DOLLAR_SHAPE, FORMAT_ERRORS, AWAIT_EXECUTION, KEEP_ALIVE, STDIO, GLOBALS]

# errors of every shape, sent, thrown and logged; results of every type
ERROR_SHAPES = [
    "$$.sendResult(Promise.resolve().then(() => { throw new TypeError('in then') }))",
    "$$.async(); Promise.resolve().then(() => { throw new Error('unhandled in then') }); "
    "setTimeout(() => $$.done('after'), 30)",
    "const ce = new Error('custom stack'); ce.stack = 'Error: custom stack\\n    at somewhere'; throw ce",
    "throw Object.assign(new Error('props'), {code: 'EX', extra: 1})",
    "console.assert(false)",
    "console.error(new Error('logged'))",
    "console.log(new Error('logged out').stack.split('\\n').slice(0, 4).join('|'))",
    "$$.async(); process.nextTick(() => { throw new RangeError('tick throw') }); setTimeout(() => $$.done(1), 30)",
    "setTimeout(() => { throw new Error('late throw') }, 0); 'sync done'",
    "$$.async(); setTimeout(() => $$.done(2), 30)",
    "(function outer() { return (function inner() { return new Error('nested') })() })()",
    "class E2 extends Error {}; new E2('sub')",
    "new AggregateError([new Error('a')], 'agg')",
    "$$.sendError({name: 'Custom', message: 'not an Error', stack: 'Custom: not an Error\\n    at x'})",
    "$$.sendError(null)",
    "$$.sendError(undefined)",
    "$$.mime(null)",
    "$$.text(5)",
    "$$.json({a: 1})",
    "$$.mime({'text/plain': 42})",
]

SESSIONS.append(ERROR_SHAPES)
