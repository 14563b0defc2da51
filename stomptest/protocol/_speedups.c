/* The codec's fast paths, in C: parsing well-formed, complete frames, and encoding
   frames whose headers need nothing but the escapes.

   `scan` walks a buffer from a position and turns every complete frame and heart-beat
   it can into the very objects the pure-Python parser would make, then returns the
   position it stopped at. It stops, without raising and without consuming it, at the
   first thing that is not the common case: an incomplete frame, a CR in a head, a
   header line that is not UTF-8 or has a bad escape, a limit, anything that would be
   an error. The Python parser takes over from there, so every error, every offset and
   every partial-frame state comes from one implementation only; this file only has to
   agree with it on valid frames, which the differential tests check.

   Header lines are remembered in tables of its own (see header_pair). No exception is
   ever raised for input bytes: only MemoryError and the like propagate. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* set once by `init` */
static PyTypeObject *frame_type = NULL;
static PyObject *heartbeat = NULL;
static PyObject *slot_command = NULL, *slot_raw_headers = NULL, *slot_body = NULL, *slot_headers = NULL;
static PyObject *content_length = NULL;

/* Header lines -> (name, value) pairs, remembered per escaping mode in C: a line seen
   before costs a hash and a memcmp, with no allocation. Each table is 2-way set
   associative (the slot a line hashes to, and its neighbour, kept in recency order),
   so it holds at most SLOTS lines of at most CACHED_LINE bytes whatever peers send,
   and lines that never repeat (message ids, timestamps) only ever evict each other or
   a cold line: there is nothing to grow and nothing to flood. */

#define SLOTS 1024
#define CACHED_LINE 256

typedef struct {
    uint64_t hash;
    Py_ssize_t size;
    PyObject *pair; /* NULL: empty */
    char line[CACHED_LINE];
} Slot;

static Slot *tables[3] = {NULL, NULL, NULL};

#define MAX_DIGITS 18
#define MAX_FAST_LINES 64 /* frames with more header lines take the Python path */
#define MAX_COMMANDS 32

typedef struct {
    const char *name; /* borrowed from the bytes in `owner` */
    Py_ssize_t size;
    PyObject *command; /* str, borrowed */
    int no_body;
    int mode; /* 0: verbatim, 1: STOMP 1.1 escapes, 2: STOMP 1.2 escapes */
} Rule;

typedef struct {
    PyObject *owner; /* the tuple the rules were compiled from, kept alive */
    int beats;       /* EOLs between frames are reported (1.1+) */
    int crlf;        /* CR LF heart-beats (1.2) */
    Py_ssize_t count;
    Rule rules[MAX_COMMANDS];
} Rules;

static const char RULES_NAME[] = "stomptest.protocol._speedups.Rules";

static void
rules_free(PyObject *capsule)
{
    Rules *rules = PyCapsule_GetPointer(capsule, RULES_NAME);
    if (rules != NULL) {
        Py_XDECREF(rules->owner);
        PyMem_Free(rules);
    }
}

static PyObject *
init(PyObject *module, PyObject *args)
{
    PyObject *type;
    if (!PyArg_ParseTuple(args, "O!OOOOO", &PyType_Type, &type, &heartbeat, &slot_command, &slot_raw_headers,
                          &slot_body, &slot_headers))
        return NULL;
    PyObject *slots[4] = {slot_command, slot_raw_headers, slot_body, slot_headers};
    for (int i = 0; i < 4; i++) {
        if (Py_TYPE(slots[i])->tp_descr_set == NULL) {
            PyErr_SetString(PyExc_TypeError, "init: the Frame slots must be data descriptors");
            return NULL;
        }
        Py_INCREF(slots[i]);
    }
    Py_INCREF(heartbeat);
    Py_INCREF(type);
    frame_type = (PyTypeObject *)type;
    if (content_length == NULL && (content_length = PyUnicode_InternFromString("content-length")) == NULL)
        return NULL;
    for (int mode = 0; mode < 3; mode++) {
        if (tables[mode] == NULL && (tables[mode] = PyMem_Calloc(SLOTS, sizeof(Slot))) == NULL)
            return PyErr_NoMemory();
    }
    Py_RETURN_NONE;
}

/* compile(beats, crlf, ((command_bytes, command_str, no_body, mode), ...)) -> capsule */
static PyObject *
compile_rules(PyObject *module, PyObject *args)
{
    int beats, crlf;
    PyObject *entries;
    if (!PyArg_ParseTuple(args, "ppO!", &beats, &crlf, &PyTuple_Type, &entries))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(entries);
    if (count > MAX_COMMANDS) {
        PyErr_SetString(PyExc_ValueError, "compile: too many commands");
        return NULL;
    }
    Rules *rules = PyMem_Calloc(1, sizeof(Rules));
    if (rules == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *entry = PyTuple_GET_ITEM(entries, i);
        PyObject *name, *command;
        int no_body, mode;
        if (!PyArg_ParseTuple(entry, "O!O!pi", &PyBytes_Type, &name, &PyUnicode_Type, &command, &no_body, &mode)) {
            PyMem_Free(rules);
            return NULL;
        }
        Rule *rule = &rules->rules[i];
        rule->name = PyBytes_AS_STRING(name);
        rule->size = PyBytes_GET_SIZE(name);
        rule->command = command;
        rule->no_body = no_body;
        if (mode < 0 || mode > 2) {
            PyErr_SetString(PyExc_ValueError, "compile: mode is 0, 1 or 2");
            PyMem_Free(rules);
            return NULL;
        }
        rule->mode = mode;
    }
    rules->count = count;
    rules->beats = beats;
    rules->crlf = crlf;
    Py_INCREF(entries);
    rules->owner = entries;
    PyObject *capsule = PyCapsule_New(rules, RULES_NAME, rules_free);
    if (capsule == NULL) {
        Py_DECREF(entries);
        PyMem_Free(rules);
    }
    return capsule;
}

/* Decoding results: a new reference, or NULL. NULL with no exception set means
   "not for the fast path" (the Python parser will say what is wrong). */

static PyObject *
decode_utf8(const char *s, Py_ssize_t size)
{
    PyObject *text = PyUnicode_DecodeUTF8(s, size, NULL);
    if (text == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
        PyErr_Clear();
    return text;
}

static PyObject *
unescape(const char *s, Py_ssize_t size, int mode)
{
    if (mode == 0 || memchr(s, '\\', size) == NULL)
        return decode_utf8(s, size);
    char small[256] = {0};
    char *out = size <= (Py_ssize_t)sizeof(small) ? small : PyMem_Malloc(size);
    if (out == NULL)
        return PyErr_NoMemory();
    Py_ssize_t j = 0;
    PyObject *text = NULL;
    for (Py_ssize_t i = 0; i < size; i++) {
        char c = s[i];
        if (c == '\\') {
            if (++i == size)
                goto done;
            switch (s[i]) {
            case 'n': c = '\n'; break;
            case 'c': c = ':'; break;
            case '\\': c = '\\'; break;
            case 'r':
                if (mode != 2)
                    goto done;
                c = '\r';
                break;
            default:
                goto done;
            }
        }
        out[j++] = c;
    }
    text = decode_utf8(out, j);
done:
    if (out != small)
        PyMem_Free(out);
    return text;
}


static PyObject *
clear(PyObject *module, PyObject *unused)
{
    for (int mode = 0; mode < 3; mode++) {
        for (Py_ssize_t i = 0; tables[mode] != NULL && i < SLOTS; i++)
            Py_CLEAR(tables[mode][i].pair);
    }
    Py_RETURN_NONE;
}

static uint64_t
hash_line(const char *s, Py_ssize_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t word;
        memcpy(&word, s, 8);
        h = (h ^ word) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        s += 8;
        n -= 8;
    }
    uint64_t tail = 0;
    memcpy(&tail, s, n);
    h = (h ^ tail) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static PyObject *
compute_pair(const char *line, Py_ssize_t size, int mode)
{
    const char *colon = memchr(line, ':', size);
    if (colon == NULL || colon == line)
        return NULL;
    Py_ssize_t at = colon - line;
    PyObject *name = unescape(line, at, mode);
    if (name == NULL)
        return NULL;
    PyObject *value = unescape(colon + 1, size - at - 1, mode);
    if (value == NULL) {
        Py_DECREF(name);
        return NULL;
    }
    PyObject *pair = PyTuple_Pack(2, name, value);
    Py_DECREF(name);
    Py_DECREF(value);
    return pair;
}

/* The (name, value) pair of one header line, a new reference; NULL: see decode_utf8. */
static PyObject *
header_pair(const char *line, Py_ssize_t size, int mode)
{
    if (size > CACHED_LINE)
        return compute_pair(line, size, mode);
    Slot *table = tables[mode];
    uint64_t hash = hash_line(line, size);
    Slot *a = &table[hash & (SLOTS - 1)], *b = &table[(hash & (SLOTS - 1)) ^ 1];
    if (a->pair != NULL && a->hash == hash && a->size == size && memcmp(a->line, line, size) == 0) {
        Py_INCREF(a->pair);
        return a->pair;
    }
    if (b->pair != NULL && b->hash == hash && b->size == size && memcmp(b->line, line, size) == 0) {
        Slot hit = *b; /* the most recent line of a set goes first */
        *b = *a;
        *a = hit;
        Py_INCREF(a->pair);
        return a->pair;
    }
    PyObject *pair = compute_pair(line, size, mode);
    if (pair == NULL)
        return NULL;
    PyObject *evicted = b->pair;
    *b = *a;
    a->hash = hash;
    a->size = size;
    memcpy(a->line, line, size);
    Py_INCREF(pair);
    a->pair = pair;
    Py_XDECREF(evicted); /* a tuple of two str: frees memory, runs no Python code */
    return pair;
}

/* The byte count of a content-length value, or -1 when the Python parser must judge it. */
static Py_ssize_t
byte_count(PyObject *text)
{
    if (!PyUnicode_IS_ASCII(text))
        return -1;
    Py_ssize_t size = PyUnicode_GET_LENGTH(text);
    const char *digits = (const char *)PyUnicode_DATA(text);
    if (size == 0)
        return -1;
    Py_ssize_t i = 0;
    while (i < size && digits[i] == '0')
        i++;
    if (size - i > MAX_DIGITS)
        return -1;
    Py_ssize_t count = 0;
    for (; i < size; i++) {
        if (digits[i] < '0' || digits[i] > '9')
            return -1;
        count = count * 10 + (digits[i] - '0');
    }
    return count;
}

/* One frame at `pos`: 1 and *next set when it was parsed and appended, 0 when the
   Python parser must take it, -1 on an exception. */
static int
scan_frame(const char *buf, Py_ssize_t pos, Py_ssize_t n, const Rules *rules, Py_ssize_t max_frame_bytes,
           Py_ssize_t max_header_bytes, Py_ssize_t max_lines, PyObject *out, Py_ssize_t *next)
{
    /* the head: up to the first blank line, with no CR or NUL in it; where each line starts */
    Py_ssize_t starts[MAX_FAST_LINES + 1], lines = 0, end = -1;
    for (Py_ssize_t at = pos;;) {
        if (lines == MAX_FAST_LINES)
            return 0;
        starts[lines++] = at;
        const char *lf = memchr(buf + at, '\n', n - at);
        if (lf == NULL || lf + 1 == buf + n)
            return 0;
        at = lf - buf + 1;
        if (buf[at] == '\n') {
            end = at - 1;
            break;
        }
    }
    starts[lines] = end + 1;
    if (memchr(buf + pos, '\r', end - pos) != NULL || memchr(buf + pos, '\0', end - pos) != NULL)
        return 0;
    if (end < 0 || lines > max_lines || end - pos > max_header_bytes)
        return 0;
    const Rule *rule = NULL;
    Py_ssize_t command_size = starts[1] - 1 - pos;
    for (Py_ssize_t r = 0; r < rules->count; r++) {
        if (rules->rules[r].size == command_size && memcmp(rules->rules[r].name, buf + pos, command_size) == 0) {
            rule = &rules->rules[r];
            break;
        }
    }
    if (rule == NULL)
        return 0;

    PyObject *raw = PyTuple_New(lines - 1), *first = PyDict_New(), *frame = NULL, *body = NULL;
    if (raw == NULL || first == NULL)
        goto error;
    for (Py_ssize_t index = 0; index < lines - 1; index++) {
        const char *line = buf + starts[index + 1];
        Py_ssize_t size = starts[index + 2] - 1 - starts[index + 1];
        PyObject *pair = header_pair(line, size, rule->mode);
        if (pair == NULL)
            goto decline;
        PyTuple_SET_ITEM(raw, index, pair);
        if (PyDict_SetDefault(first, PyTuple_GET_ITEM(pair, 0), PyTuple_GET_ITEM(pair, 1)) == NULL)
            goto error;
    }

    /* the body: sliced by content-length, or ended by the first NUL */
    Py_ssize_t start = end + 2, stop;
    PyObject *length_text = PyDict_GetItemWithError(first, content_length);
    if (length_text != NULL) {
        Py_ssize_t length = byte_count(length_text);
        if (length < 0 || (length && rule->no_body) || length + start + 1 - pos > max_frame_bytes)
            goto decline;
        stop = start + length;
        if (stop >= n || buf[stop] != '\0')
            goto decline;
    }
    else {
        if (PyErr_Occurred())
            goto error;
        const char *nul = memchr(buf + start, '\0', n - start);
        if (nul == NULL)
            goto decline;
        stop = nul - buf;
        if (stop + 1 - pos > max_frame_bytes || (stop > start && rule->no_body))
            goto decline;
    }

    body = PyBytes_FromStringAndSize(buf + start, stop - start);
    if (body == NULL)
        goto error;
    PyObject *proxy = PyDictProxy_New(first); /* what Frame.headers would wrap it in */
    if (proxy == NULL)
        goto error;
    Py_SETREF(first, proxy);
    frame = frame_type->tp_alloc(frame_type, 0);
    if (frame == NULL)
        goto error;
    if (Py_TYPE(slot_command)->tp_descr_set(slot_command, frame, rule->command) < 0 ||
        Py_TYPE(slot_raw_headers)->tp_descr_set(slot_raw_headers, frame, raw) < 0 ||
        Py_TYPE(slot_body)->tp_descr_set(slot_body, frame, body) < 0 ||
        Py_TYPE(slot_headers)->tp_descr_set(slot_headers, frame, first) < 0)
        goto error;
    Py_DECREF(raw);
    Py_DECREF(first);
    Py_DECREF(body);
    int appended = PyList_Append(out, frame);
    Py_DECREF(frame);
    if (appended < 0)
        return -1;
    *next = stop + 1;
    return 1;

decline:
    if (PyErr_Occurred())
        goto error;
    Py_XDECREF(raw);
    Py_XDECREF(first);
    return 0;
error:
    Py_XDECREF(raw);
    Py_XDECREF(first);
    Py_XDECREF(body);
    Py_XDECREF(frame);
    return -1;
}

/* scan(buf, pos, rules, max_frame_bytes, max_header_bytes, max_lines, out) -> position reached */
static PyObject *
scan(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyBytes_CheckExact(args[0]) || !PyList_CheckExact(args[6])) {
        PyErr_SetString(PyExc_TypeError, "scan(buf: bytes, pos, rules, max_frame_bytes, max_header_bytes, "
                                         "max_lines, out: list)");
        return NULL;
    }
    if (frame_type == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "scan: init() was not called");
        return NULL;
    }
    const Rules *rules = PyCapsule_GetPointer(args[2], RULES_NAME);
    if (rules == NULL)
        return NULL;
    Py_ssize_t pos = PyLong_AsSsize_t(args[1]);
    Py_ssize_t max_frame_bytes = PyLong_AsSsize_t(args[3]);
    Py_ssize_t max_header_bytes = PyLong_AsSsize_t(args[4]);
    Py_ssize_t max_lines = PyLong_AsSsize_t(args[5]);
    if (PyErr_Occurred())
        return NULL;
    const char *buf = PyBytes_AS_STRING(args[0]);
    Py_ssize_t n = PyBytes_GET_SIZE(args[0]);
    PyObject *out = args[6];
    if (pos < 0)
        pos = 0;
    while (pos < n) {
        char c = buf[pos];
        if (c == '\n') {
            if (rules->beats && PyList_Append(out, heartbeat) < 0)
                return NULL;
            pos++;
            continue;
        }
        if (c == '\r' && rules->crlf) {
            if (pos + 1 == n || buf[pos + 1] != '\n')
                break;
            if (PyList_Append(out, heartbeat) < 0)
                return NULL;
            pos += 2;
            continue;
        }
        Py_ssize_t next;
        int done = scan_frame(buf, pos, n, rules, max_frame_bytes, max_header_bytes, max_lines, out, &next);
        if (done < 0)
            return NULL;
        if (done == 0)
            break;
        pos = next;
    }
    return PyLong_FromSsize_t(pos);
}


/* encode(command, headers, body, mode) -> the frame's bytes, or None when the Python encoder
   must decide (a NUL, an empty name, what mode 0 cannot carry, text that is not UTF-8).
   `headers` are (name, value) pairs of str, written in order; mode as in scan. */

static Py_ssize_t
escaped_size(const char *s, Py_ssize_t size, int mode, int is_name)
{
    Py_ssize_t extra = 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        switch (s[i]) {
        case '\0':
            return -1;
        case '\n':
            if (mode == 0)
                return -1;
            extra++;
            break;
        case '\r':
            if (mode == 0)
                return -1; /* verbatim CR: the Python encoder knows when it is allowed */
            extra += mode == 2;
            break;
        case ':':
            if (mode == 0 && is_name)
                return -1;
            extra += mode != 0;
            break;
        case '\\':
            extra += mode != 0;
            break;
        }
    }
    return size + extra;
}

static char *
write_escaped(char *out, const char *s, Py_ssize_t size, int mode)
{
    if (mode == 0) {
        memcpy(out, s, size);
        return out + size;
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        char c = s[i];
        switch (c) {
        case '\n': *out++ = '\\'; *out++ = 'n'; break;
        case ':': *out++ = '\\'; *out++ = 'c'; break;
        case '\\': *out++ = '\\'; *out++ = '\\'; break;
        case '\r':
            if (mode == 2) {
                *out++ = '\\';
                *out++ = 'r';
            }
            else
                *out++ = c;
            break;
        default: *out++ = c;
        }
    }
    return out;
}

#define FAST_HEADERS 64

static PyObject *
encode_frame(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyBytes_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "encode(command: str, headers, body: bytes, mode: int)");
        return NULL;
    }
    int mode = PyLong_AsLong(args[3]);
    if (mode < 0 || mode > 2) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "encode: mode is 0, 1 or 2");
        return NULL;
    }
    PyObject *headers = PySequence_Fast(args[1], "encode: headers must be a sequence of (name, value) pairs");
    if (headers == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(headers);
    PyObject **pairs = PySequence_Fast_ITEMS(headers);
    const char *texts[2 * FAST_HEADERS];
    Py_ssize_t sizes[2 * FAST_HEADERS], escaped[2 * FAST_HEADERS];
    Py_ssize_t command_size;
    const char *command = PyUnicode_AsUTF8AndSize(args[0], &command_size);
    if (count > FAST_HEADERS || command == NULL)
        goto python;
    Py_ssize_t body_size = PyBytes_GET_SIZE(args[2]), total = command_size + 2 + body_size + 1;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = pairs[i];
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2)
            goto python;
        for (int part = 0; part < 2; part++) {
            PyObject *text = PyTuple_GET_ITEM(pair, part);
            if (!PyUnicode_CheckExact(text))
                goto python;
            Py_ssize_t k = 2 * i + part;
            texts[k] = PyUnicode_AsUTF8AndSize(text, &sizes[k]);
            if (texts[k] == NULL || (part == 0 && sizes[k] == 0))
                goto python;
            escaped[k] = escaped_size(texts[k], sizes[k], mode, part == 0);
            if (escaped[k] < 0)
                goto python;
            total += escaped[k];
        }
        total += 2; /* ':' and LF */
    }
    PyObject *frame = PyBytes_FromStringAndSize(NULL, total);
    if (frame == NULL) {
        Py_DECREF(headers);
        return NULL;
    }
    char *out = PyBytes_AS_STRING(frame);
    memcpy(out, command, command_size);
    out += command_size;
    *out++ = '\n';
    for (Py_ssize_t k = 0; k < 2 * count; k += 2) {
        out = write_escaped(out, texts[k], sizes[k], mode);
        *out++ = ':';
        out = write_escaped(out, texts[k + 1], sizes[k + 1], mode);
        *out++ = '\n';
    }
    *out++ = '\n';
    memcpy(out, PyBytes_AS_STRING(args[2]), body_size);
    out[body_size] = '\0';
    Py_DECREF(headers);
    return frame;
python:
    Py_DECREF(headers);
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_UnicodeEncodeError))
            return NULL;
        PyErr_Clear();
    }
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"init", init, METH_VARARGS, "init(Frame, HEARTBEAT, command, raw_headers, body, _headers)"},
    {"clear", clear, METH_NOARGS, "clear() forgets every remembered header line"},
    {"compile", compile_rules, METH_VARARGS, "compile(beats, crlf, rules) -> an opaque rules object for scan"},
    {"scan", (PyCFunction)(void (*)(void))scan, METH_FASTCALL,
     "scan(buf, pos, rules, max_frame_bytes, max_header_bytes, max_lines, out) -> position reached"},
    {"encode", (PyCFunction)(void (*)(void))encode_frame, METH_FASTCALL,
     "encode(command, headers, body, mode) -> the frame's bytes, or None for the Python encoder"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "stomptest.protocol._speedups",
    .m_doc = "The parser's fast path for complete, well-formed frames (optional; see parser.py).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    return PyModule_Create(&module);
}
