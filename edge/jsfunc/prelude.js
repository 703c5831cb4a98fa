// The parts of CloudFront's runtime 2.0 written in JavaScript (DG
// functions-javascript-runtime-20, "Built-in modules"): the buffer and querystring
// modules, after Node.js's, whose APIs the page follows; and the metering of the bulk
// allocators against the 2 MB memory limit. h holds the Go helpers: enc(string,
// encoding) → ArrayBuffer, dec(Uint8Array, encoding) → string, mem(bytes).
(function (g, h) {
    'use strict';
    const enc = h.enc, dec = h.dec, mem = h.mem;

    // --- memory: the allocators a function can grow memory with in bulk ---
    // A string counts one byte per character (CloudFront's runtime keeps strings in
    // UTF-8; most of what functions handle is ASCII). repeat and pad are checked before
    // they allocate, so a huge repeat fails at once rather than after the work.
    function meter(proto, name, size, before) {
        const orig = proto[name];
        Object.defineProperty(proto, name, {
            value: {
                [name](...args) {
                    if (before) mem(before(this, args));
                    const r = orig.apply(this, args);
                    if (size) mem(size(r));
                    return r;
                }
            }[name],
            writable: true, configurable: true, enumerable: false,
        });
    }
    const strSize = (s) => typeof s === 'string' ? s.length : 0;
    meter(String.prototype, 'repeat', null, (s, a) => String(s).length * Math.max(0, Number(a[0]) || 0));
    const padSize = (s, a) => Math.max(String(s).length, Number(a[0]) || 0);
    meter(String.prototype, 'padStart', null, padSize);
    meter(String.prototype, 'padEnd', null, padSize);
    for (const n of ['concat', 'replace', 'replaceAll']) meter(String.prototype, n, strSize);
    meter(Array.prototype, 'join', strSize);
    meter(JSON, 'stringify', strSize);

    // --- buffer ---
    const ENCODINGS = {
        'utf8': 'utf8', 'utf-8': 'utf8', 'hex': 'hex', 'base64': 'base64', 'base64url': 'base64url',
        'latin1': 'latin1', 'binary': 'latin1', 'ascii': 'ascii',
        'ucs2': 'utf16le', 'ucs-2': 'utf16le', 'utf16le': 'utf16le', 'utf-16le': 'utf16le',
    };
    function encoding(e) {
        if (e === undefined || e === null) return 'utf8';
        const n = ENCODINGS[String(e).toLowerCase()];
        if (!n) throw new TypeError('Unknown encoding: ' + e);
        return n;
    }
    function Buffer() {
        throw new TypeError('Buffer() is not supported: use Buffer.from() or Buffer.alloc()');
    }
    const proto = Object.create(Uint8Array.prototype);
    Buffer.prototype = proto;
    Object.defineProperty(proto, 'constructor', { value: Buffer, writable: true, configurable: true });
    Object.setPrototypeOf(Buffer, Uint8Array);
    // Typed-array methods that make new arrays (map, filter, subarray…) make plain
    // Uint8Arrays; those that Node's Buffer overrides wrap them again below.
    Object.defineProperty(Buffer, Symbol.species, { value: Uint8Array, configurable: true });
    const wrap = (u8) => Object.setPrototypeOf(u8, proto);
    function make(n) {
        if (typeof n !== 'number' || n < 0 || n !== n) throw new RangeError('The size argument must be a non-negative number');
        mem(n);
        return wrap(new Uint8Array(n));
    }
    Buffer.isEncoding = (e) => typeof e === 'string' && ENCODINGS[e.toLowerCase()] !== undefined;
    Buffer.isBuffer = (b) => b instanceof Buffer;
    Buffer.alloc = (n, fill, e) => {
        const b = make(n);
        if (fill !== undefined && fill !== 0) b.fill(fill, 0, n, e);
        return b;
    };
    Buffer.allocUnsafe = (n) => make(n);
    Buffer.allocUnsafeSlow = (n) => make(n);
    Buffer.from = function from(v, a, b) {
        if (typeof v === 'string') {
            const ab = enc(v, encoding(a));
            mem(ab.byteLength);
            return wrap(new Uint8Array(ab));
        }
        if (v instanceof ArrayBuffer) {
            const off = a === undefined ? 0 : a;
            return wrap(new Uint8Array(v, off, b === undefined ? v.byteLength - off : b));
        }
        if (ArrayBuffer.isView(v)) {
            const r = make(v.length);
            r.set(v);
            return r;
        }
        if (v && typeof v === 'object') {
            const src = (v.type === 'Buffer' && Array.isArray(v.data)) ? v.data : v;
            if (typeof src.length === 'number') {
                const r = make(src.length);
                for (let i = 0; i < src.length; i++) r[i] = src[i] & 255;
                return r;
            }
        }
        throw new TypeError('The first argument must be of type string, Buffer, ArrayBuffer, Array, or Array-like Object');
    };
    Buffer.byteLength = (v, e) => typeof v === 'string' ? enc(v, encoding(e)).byteLength : v.byteLength;
    Buffer.concat = (list, total) => {
        if (!Array.isArray(list)) throw new TypeError('The "list" argument must be an Array of Buffers');
        if (total === undefined) total = list.reduce((s, b) => s + b.length, 0);
        const r = make(total);
        let off = 0;
        for (const b of list) {
            if (off >= total) break;
            const n = Math.min(b.length, total - off);
            r.set(n === b.length ? b : b.subarray(0, n), off);
            off += n;
        }
        return r;
    };
    Buffer.compare = (a, b) => proto.compare.call(a, b);

    const u8 = Uint8Array.prototype;
    proto.toString = function toString(e, start, end) {
        start = start === undefined ? 0 : Math.max(0, start | 0);
        end = end === undefined ? this.length : Math.min(this.length, end | 0);
        if (end <= start) return '';
        const s = dec(u8.subarray.call(this, start, end), encoding(e));
        mem(s.length);
        return s;
    };
    proto.toJSON = function toJSON() {
        return { type: 'Buffer', data: Array.prototype.slice.call(this) };
    };
    proto.subarray = function subarray(start, end) { return wrap(u8.subarray.call(this, start, end)); };
    proto.slice = proto.subarray; // Node: slice shares memory, like subarray
    proto.equals = function equals(o) { return proto.compare.call(this, o) === 0; };
    proto.compare = function compare(o, tStart, tEnd, sStart, sEnd) {
        if (!ArrayBuffer.isView(o)) throw new TypeError('The "target" argument must be a Buffer or Uint8Array');
        const a = u8.subarray.call(this, sStart || 0, sEnd === undefined ? this.length : sEnd);
        const b = u8.subarray.call(o, tStart || 0, tEnd === undefined ? o.length : tEnd);
        const n = Math.min(a.length, b.length);
        for (let i = 0; i < n; i++) {
            if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
        }
        return a.length === b.length ? 0 : (a.length < b.length ? -1 : 1);
    };
    proto.copy = function copy(target, tStart, sStart, sEnd) {
        tStart = tStart || 0;
        sStart = sStart || 0;
        sEnd = sEnd === undefined ? this.length : sEnd;
        const src = u8.subarray.call(this, sStart, Math.min(sEnd, sStart + target.length - tStart));
        target.set(src, tStart);
        return src.length;
    };
    proto.write = function write(s, offset, length, e) {
        if (typeof offset === 'string') { e = offset; offset = 0; length = undefined; }
        else if (typeof length === 'string') { e = length; length = undefined; }
        offset = offset || 0;
        const bytes = new Uint8Array(enc(s, encoding(e)));
        const n = Math.min(bytes.length, this.length - offset, length === undefined ? Infinity : length);
        this.set(bytes.subarray(0, n), offset);
        return n;
    };
    proto.fill = function fill(value, offset, end, e) {
        if (typeof offset === 'string') { e = offset; offset = 0; end = this.length; }
        offset = offset === undefined ? 0 : offset;
        end = end === undefined ? this.length : end;
        if (typeof value === 'number' || typeof value === 'boolean') return u8.fill.call(this, value & 255, offset, end);
        const pat = typeof value === 'string' ? new Uint8Array(enc(value, encoding(e))) : value;
        if (pat.length === 0) return u8.fill.call(this, 0, offset, end);
        for (let i = offset, j = 0; i < end; i++, j = (j + 1) % pat.length) this[i] = pat[j];
        return this;
    };
    proto.indexOf = function indexOf(v, from, e) {
        if (typeof v === 'number') return u8.indexOf.call(this, v & 255, from);
        const needle = typeof v === 'string' ? new Uint8Array(enc(v, encoding(e))) : v;
        from = from === undefined ? 0 : (from < 0 ? Math.max(0, this.length + from) : from);
        outer: for (let i = from; i <= this.length - needle.length; i++) {
            for (let j = 0; j < needle.length; j++) {
                if (this[i + j] !== needle[j]) continue outer;
            }
            return i;
        }
        return -1;
    };
    proto.includes = function includes(v, from, e) { return this.indexOf(v, from, e) !== -1; };
    const view = (b) => new DataView(b.buffer, b.byteOffset, b.byteLength);
    const numeric = [
        ['UInt8', 'Uint8', 1], ['Int8', 'Int8', 1], ['UInt16', 'Uint16', 2], ['Int16', 'Int16', 2],
        ['UInt32', 'Uint32', 4], ['Int32', 'Int32', 4], ['Float', 'Float32', 4], ['Double', 'Float64', 8],
    ];
    for (const [name, dv, size] of numeric) {
        const ends = size === 1 ? [''] : ['LE', 'BE'];
        for (const end of ends) {
            const little = end === 'LE';
            proto['read' + name + end] = function (offset) {
                offset = offset === undefined ? 0 : offset;
                if (offset < 0 || offset + size > this.length) throw new RangeError('The value of "offset" is out of range');
                return view(this)['get' + dv](offset, little);
            };
            proto['write' + name + end] = function (value, offset) {
                offset = offset === undefined ? 0 : offset;
                if (offset < 0 || offset + size > this.length) throw new RangeError('The value of "offset" is out of range');
                view(this)['set' + dv](offset, value, little);
                return offset + size;
            };
        }
    }
    for (const alias of ['UInt8', 'UInt16LE', 'UInt16BE', 'UInt32LE', 'UInt32BE']) {
        proto['readUint' + alias.slice(4)] = proto['readUInt' + alias.slice(4)];
        proto['writeUint' + alias.slice(4)] = proto['writeUInt' + alias.slice(4)];
    }
    g.Buffer = Buffer;
    const buffer = { Buffer: Buffer, constants: { MAX_LENGTH: 2 << 20 } };

    // --- querystring ---
    function unescape(s) {
        try {
            return decodeURIComponent(s);
        } catch (_) {
            // Node decodes what it can of a malformed string; decode each valid %XX run.
            return s.replace(/(%[0-9A-Fa-f]{2})+/g, (m) => {
                try { return decodeURIComponent(m); } catch (_) { return m; }
            });
        }
    }
    const qsEscape = (s) => encodeURIComponent(s);
    function parse(str, sep, eq, options) {
        sep = sep || '&';
        eq = eq || '=';
        const decode = (options && typeof options.decodeURIComponent === 'function') ? options.decodeURIComponent : querystring.unescape;
        const maxKeys = (options && typeof options.maxKeys === 'number') ? options.maxKeys : 1000;
        const out = Object.create(null);
        if (typeof str !== 'string' || str.length === 0) return out;
        let parts = str.split(sep);
        if (maxKeys > 0 && parts.length > maxKeys) parts = parts.slice(0, maxKeys);
        for (const part of parts) {
            if (part.length === 0) continue;
            const i = part.indexOf(eq);
            const k = decode((i >= 0 ? part.slice(0, i) : part).replace(/\+/g, ' '));
            const val = i >= 0 ? decode(part.slice(i + eq.length).replace(/\+/g, ' ')) : '';
            if (!(k in out)) out[k] = val;
            else if (Array.isArray(out[k])) out[k].push(val);
            else out[k] = [out[k], val];
        }
        return out;
    }
    function primitive(v) {
        switch (typeof v) {
            case 'string': return v;
            case 'number': return isFinite(v) ? String(v) : '';
            case 'bigint': return String(v);
            case 'boolean': return v ? 'true' : 'false';
            default: return '';
        }
    }
    function stringify(obj, sep, eq, options) {
        sep = sep || '&';
        eq = eq || '=';
        const encode = (options && typeof options.encodeURIComponent === 'function') ? options.encodeURIComponent : querystring.escape;
        if (obj === null || typeof obj !== 'object') return '';
        const parts = [];
        for (const k of Object.keys(obj)) {
            const ks = encode(primitive(k)) + eq;
            const v = obj[k];
            if (Array.isArray(v)) {
                for (const item of v) parts.push(ks + encode(primitive(item)));
            } else {
                parts.push(ks + encode(primitive(v)));
            }
        }
        return parts.join(sep);
    }
    const querystring = { escape: qsEscape, unescape: unescape, parse: parse, stringify: stringify, decode: parse, encode: stringify };

    return { buffer: buffer, querystring: querystring };
})
