#!/usr/bin/python3
"""Test vectors for faultmux's pickle codec (tests/pickle_test.cpp).

Run with Debian's python3, which has Mitogen 0.3.3:

  vectors.py dump   one line per vector: name, hex of the pickle, hex of the
                    same pickle without memo opcodes ("-" when it reads the
                    memo), and what Mitogen's own unpickler makes of it
  vectors.py load   reads "name<TAB>hex" lines and prints "name<TAB>result"
                    for each, unpickled by Mitogen

Pickles of CASES come from Python's pickle.dumps(v, protocol=2), the way
Mitogen's Message.pickled() writes every call and reply. RAW holds pickles
Python 3 cannot write (a Python 2 peer's str as BINSTRING) and pickles that
are wrong on purpose. A result is describe()'s text (the same format as
faultmux::pickle::to_string) or "ERROR: <exception>".
"""

import logging
import math
import os
import pickle
import pickletools
import struct
import sys

import mitogen.core as core
import mitogen.parent

logging.disable(logging.CRITICAL)  # Message.unpickle() logs every refusal
sys.set_int_max_str_digits(0)  # describe() of the LONG4 vectors


class StubRouter(core.Router):
    """A Router without a broker: _unpickle_sender insists on a Router, and
    _unpickle_context asks it for the Context."""

    def __init__(self):
        pass

    def context_by_id(self, context_id, via_id=None, create=True, name=None):
        return core.Context(self, context_id, name)


def mitogen_unpickle(data):
    msg = core.Message(data=data, router=StubRouter())
    return msg.unpickle(throw=False, throw_dead=False)


def esc_text(s):
    out = []
    for ch in s:
        c = ord(ch)
        if 0x20 <= c < 0x7F and ch not in '"\\':
            out.append(ch)
        elif c < 0x100:
            out.append('\\x%02x' % c)
        elif c < 0x10000:
            out.append('\\u%04x' % c)
        else:
            out.append('\\U%08x' % c)
    return '"' + ''.join(out) + '"'


def esc_bytes(b):
    out = []
    for c in b:
        if 0x20 <= c < 0x7F and c not in b'"\\':
            out.append(chr(c))
        else:
            out.append('\\x%02x' % c)
    return 'b"' + ''.join(out) + '"'


def describe_pairs(d):
    return '{' + ', '.join(describe(k) + ': ' + describe(v) for k, v in d.items()) + '}'


def describe(o):
    t = type(o)
    if o is None:
        return 'None'
    if t is bool:
        return 'True' if o else 'False'
    if t is int:
        return str(o)
    if t is float:
        return 'float:' + struct.pack('>d', o).hex()
    if t is str:
        return esc_text(o)
    if t is bytes:
        return esc_bytes(o)
    if t is tuple:
        return '(' + ', '.join(map(describe, o)) + ')'
    if t is list:
        return '[' + ', '.join(map(describe, o)) + ']'
    if t is dict:
        return describe_pairs(o)
    if t is core.Kwargs:
        return 'Kwargs(' + describe_pairs(o) + ')'
    if t is core.CallError:
        return 'CallError(' + esc_text(o.args[0]) + ')'
    if t is core.Blob:
        return 'Blob(' + esc_bytes(bytes(o)) + ')'
    if t is core.Secret:
        return 'Secret(' + esc_text(str(o)) + ')'
    if isinstance(o, core.Context):
        name = 'None' if o.name is None else esc_text(o.name)
        return 'Context(%d, %s)' % (o.context_id, name)
    if t is core.Sender:
        return 'Sender(%d, %d)' % (o.context.context_id, o.dst_handle)
    raise TypeError('no description for %r' % (t,))


def result_of(data):
    try:
        obj = mitogen_unpickle(data)
    except Exception as e:
        return ('ERROR: %s: %s' % (type(e).__name__, e)).replace('\n', ' ').replace('\t', ' ')
    try:
        return describe(obj)
    except (RecursionError, TypeError) as e:
        # Accepted by Mitogen, but not something a value can hold.
        return 'ACCEPTED: %s' % (type(e).__name__,)


def strip_memo(data):
    """The pickle without PUT opcodes, or None if it reads the memo."""
    ops = list(pickletools.genops(data))
    out = b''
    for i, (op, _, pos) in enumerate(ops):
        end = ops[i + 1][2] if i + 1 < len(ops) else len(data)
        if op.name in ('GET', 'BINGET', 'LONG_BINGET'):
            return None
        if op.name in ('PUT', 'BINPUT', 'LONG_BINPUT', 'MEMOIZE'):
            continue
        out += data[pos:end]
    return out


def cases():
    ctx = core.Context(None, 7, 'c')
    shared_list = [1, 2]
    shared_str = 'shared'
    return [
        ('none', None),
        ('true', True),
        ('false', False),
        ('int_0', 0),
        ('int_1', 1),
        ('int_255', 255),
        ('int_256', 256),
        ('int_65535', 65535),
        ('int_65536', 65536),
        ('int_m1', -1),
        ('int_m256', -256),
        ('int_i32_min', -2**31),
        ('int_i32_max', 2**31 - 1),
        ('int_2p31', 2**31),
        ('int_m2p31m1', -2**31 - 1),
        ('int_i64_max', 2**63 - 1),
        ('int_i64_min', -2**63),
        ('int_2p63', 2**63),
        ('int_m2p63m1', -2**63 - 1),
        ('int_2p64', 2**64),
        ('int_m2p64', -2**64),
        ('int_long4', 2**2040),
        ('int_long4_neg', -2**2100),
        ('float_0', 0.0),
        ('float_m0', -0.0),
        ('float_1_5', 1.5),
        ('float_pi', math.pi),
        ('float_big', 1e300),
        ('float_tiny', 5e-324),
        ('float_inf', math.inf),
        ('float_minf', -math.inf),
        ('float_nan', math.nan),
        ('str_empty', ''),
        ('str_ascii', 'hello'),
        ('str_latin', 'héllo wörld'),
        ('str_cjk', '日本語'),
        ('str_emoji', '\U0001F600'),
        ('str_surrogate', '\ud800x'),
        ('str_controls', 'a\x00b\n"\\\x7f'),
        ('str_300', 'x' * 300),
        ('str_70000', 'ab' * 35000),
        ('bytes_empty', b''),
        ('bytes_abc', b'abc'),
        ('bytes_all', bytes(range(256))),
        ('bytes_zeros', b'\0' * 1000),
        ('bytes_pair', (b'a', b'b')),
        ('tuple_0', ()),
        ('tuple_1', (1,)),
        ('tuple_2', (1, 'a')),
        ('tuple_3', (1, 2, 3)),
        ('tuple_4', (1, 2, 3, 4)),
        ('tuple_nested', ((1, (2, (3,))), [], {})),
        ('list_0', []),
        ('list_1', [None]),
        ('list_mixed', [1, 'a', b'b', 2.5, None, True]),
        ('list_1000', list(range(1000))),
        ('list_1001', list(range(1001))),
        ('list_2500', list(range(2500))),
        ('dict_0', {}),
        ('dict_1', {'a': 1}),
        ('dict_mixed', {1: 'one', 'two': [2], None: (), (1, 'x'): b'y', b'k': 2.0, 1.5: False}),
        ('dict_1001', {i: str(i) for i in range(1001)}),
        ('shared_list', (shared_list, shared_list)),
        ('shared_str', [shared_str, shared_str, shared_str]),
        ('kwargs_empty', core.Kwargs({})),
        ('kwargs', core.Kwargs({'a': 1, 'b': b'x', 'c': [1, {'d': None}]})),
        ('call_error', core.CallError('boom')),
        ('call_error_empty', core.CallError('')),
        ('call_error_text', core.CallError('ошибка\n  File "x", line 1')),
        ('call_error_9999', core.CallError('e' * 9999)),
        ('blob_empty', core.Blob(b'')),
        ('blob', core.Blob(b'\x00\xffdata')),
        ('secret_empty', core.Secret('')),
        ('secret', core.Secret('pässword')),
        ('context_none', core.Context(None, 0, None)),
        ('context', core.Context(None, 5, 'local.5')),
        ('context_u32', core.Context(None, 2**32 - 1, 'n' * 99)),
        ('sender', core.Sender(core.Context(None, 3), 1001)),
        ('sender_max', core.Sender(core.Context(None, 0), 2**31 - 1)),
        ('mixed_all', [core.Kwargs({'k': core.Blob(b'x')}), core.CallError('e'), core.Blob(b''),
                       core.Secret('s'), ctx, core.Sender(ctx, 9), b'latin', b'again']),
    ]


# Hand-made opcodes for RAW.
P2 = b'\x80\x02'


def X(s):
    b = s.encode('utf-8', 'surrogatepass')
    return b'X' + struct.pack('<I', len(b)) + b


def U(b):
    return b'U' + bytes([len(b)]) + b


def T(b):
    return b'T' + struct.pack('<i', len(b)) + b


def G(module, name):
    return b'c' + module + b'\n' + name + b'\n'


def call_function_bodies():
    """CALL_FUNCTION bodies as Mitogen 0.3.3's CallChain.make_msg builds them."""
    plain = mitogen.parent.CallChain(core.Context(None, 1))
    msg1 = plain.make_msg(os.path.join, 'a', b'b', 3, key='v', n=None)
    chain = mitogen.parent.CallChain(core.Context(None, 1), pipelined=True)
    chain.chain_id = 'host-1234-7f-5f3e'  # make_chain_id() holds the pid and the time
    msg2 = chain.make_msg(core.Message.dead, 'reason')
    return [('call_function', msg1.data), ('call_function_chain', msg2.data)]


def raw():
    kw = G(b'mitogen.core', b'Kwargs')
    return call_function_bodies() + [
        # A Python 2 peer: str is BINSTRING / SHORT_BINSTRING, bytes to us;
        # its kwargs keys are str too and come out as text.
        ('py2_kwargs', P2 + kw + b'}(' + U(b'key') + b'K\x01' + T(b'key2') + U(b'a') + b'u\x85R.'),
        ('py2_call', P2 + b'(N' + X('os') + b'N' + X('getcwd') + U(b'abc') + b'\x85' + kw + b'}' +
         U(b'key') + U(b'val') + b's\x85Rt.'),
        ('py2_long', P2 + b'\x8a\x01\x05.'),
        ('long1_not_minimal', P2 + b'\x8a\x03\x05\x00\x00.'),
        ('long1_empty', P2 + b'\x8a\x00.'),
        ('binbytes', P2 + b'(C\x03abcB\x02\x00\x00\x00det.'),
        ('short_binunicode', P2 + b'\x8c\x02hi.'),
        ('long_memo', P2 + b']r\x00\x00\x01\x00K\x07aj\x00\x00\x01\x00\x86.'),
        ('dict_duplicate_keys', P2 + b'}(K\x01X\x01\x00\x00\x00aK\x02N' + b'K\x01X\x01\x00\x00\x00cu.'),
        ('kwargs_merged_keys', P2 + kw + b'}(' + U(b'a') + b'K\x01' + X('a') + b'K\x02' + U(b'a') +
         b'K\x03u\x85R.'),
        ('kwargs_of_kwargs', P2 + kw + kw + b'}' + U(b'k') + b'K\x01s\x85R\x85R.'),
        ('context_empty_name', P2 + G(b'mitogen.core', b'_unpickle_context') + b'K\x02' + X('') +
         b'\x86R.'),
        ('context_secret_name', P2 + G(b'mitogen.core', b'_unpickle_context') + b'K\x02' +
         G(b'mitogen.core', b'Secret') + X('nm') + b'\x85R\x86R.'),
        ('call_error_global', P2 + G(b'mitogen.core', b'CallError') + X('via CallError') + b'\x85R.'),
        ('blob_of_blob', P2 + G(b'mitogen.core', b'Blob') + G(b'mitogen.core', b'Blob') + U(b'z') +
         b'\x85R\x85R.'),
        # Refused by us; the C++ test knows which Mitogen refuses too.
        ('refuse_os_system', P2 + G(b'os', b'system') + X('true') + b'\x85R.'),
        ('refuse_builtins_eval', P2 + G(b'builtins', b'eval') + X('1') + b'\x85R.'),
        ('refuse_bytearray', pickle.dumps(bytearray(b'a'), protocol=2)),
        ('refuse_stack_global', b'\x80\x04\x8c\x02os\x8c\x06system\x93.'),
        ('refuse_unknown_opcode', P2 + b'\xff.'),
        ('refuse_pop', P2 + b'NN0.'),
        ('refuse_codecs_not_latin1', P2 + G(b'_codecs', b'encode') + X('\u0100') + X('latin1') +
         b'\x86R.'),
        ('refuse_codecs_utf8', P2 + G(b'_codecs', b'encode') + X('\u00e9') + X('utf8') + b'\x86R.'),
        ('refuse_codecs_one_arg', P2 + G(b'_codecs', b'encode') + X('a') + b'\x85R.'),
        ('refuse_depth_bomb', P2 + b']' * 200 + b'a' * 199 + b'.'),
        ('refuse_length_bomb', P2 + b'X\xff\xff\xff\xffabc.'),
        ('refuse_binstring_negative', P2 + b'T\xff\xff\xff\xffabc.'),
        ('refuse_long4_huge', P2 + b'\x8b' + struct.pack('<i', 2000) + b'\x01' * 2000 + b'.'),
        ('refuse_reduce_int', P2 + b'K\x01)R.'),
        ('refuse_reduce_list_args', P2 + G(b'mitogen.core', b'Secret') + b']' + X('x') + b'aR.'),
        ('refuse_blob_int', P2 + G(b'mitogen.core', b'Blob') + b'K\x05\x85R.'),
        ('refuse_bytes_with_arg', P2 + G(b'__builtin__', b'bytes') + b'K\x05\x85R.'),
        ('refuse_call_error_long', P2 + G(b'mitogen.core', b'_unpickle_call_error') + X('e' * 10000) +
         b'\x85R.'),
        ('refuse_call_error_bytes', P2 + G(b'mitogen.core', b'_unpickle_call_error') + T(b'py2') +
         b'\x85R.'),
        ('refuse_call_error_secret', P2 + G(b'mitogen.core', b'_unpickle_call_error') +
         G(b'mitogen.core', b'Secret') + X('x') + b'\x85R\x85R.'),
        ('refuse_context_negative', P2 + G(b'mitogen.core', b'_unpickle_context') +
         b'J\xff\xff\xff\xffN\x86R.'),
        ('refuse_context_long_name', P2 + G(b'mitogen.core', b'_unpickle_context') + b'K\x01' +
         X('n' * 100) + b'\x86R.'),
        ('refuse_sender_zero_handle', P2 + G(b'mitogen.core', b'_unpickle_sender') + b'K\x01K\x00\x86R.'),
        ('refuse_sender_bool', P2 + G(b'mitogen.core', b'_unpickle_sender') + b'\x88K\x05\x86R.'),
        ('refuse_global_as_value', P2 + G(b'mitogen.core', b'Blob') + b'.'),
        ('refuse_truncated', P2 + b'X\x05\x00\x00\x00ab'),
        ('refuse_no_stop', P2 + b'N'),
        ('refuse_trailing', P2 + b'N.N'),
        ('refuse_memo_missing', P2 + b'h\x05.'),
        ('refuse_unhashable_key', P2 + b'}]K\x01s.'),
        ('refuse_recursive_list', P2 + b']q\x00h\x00a.'),
        ('refuse_append_to_dict', P2 + b'}K\x01a.'),
        ('refuse_setitems_odd', P2 + b'}(K\x01u.'),
        ('refuse_stack_underflow', P2 + b'a.'),
        ('refuse_proto_6', b'\x80\x06N.'),
        ('refuse_proto_late', b'N\x80\x02.'),
        ('refuse_kwargs_bad_utf8_key', P2 + kw + b'}' + U(b'\xff') + b'K\x01s\x85R.'),
        ('refuse_bad_utf8_text', P2 + b'X\x02\x00\x00\x00\xc3(.'),
        ('refuse_two_objects', P2 + b'NN.'),
        ('refuse_open_mark', P2 + b'(N.'),
    ]


def dump():
    for name, obj in cases():
        data = pickle.dumps(obj, protocol=2)
        got = result_of(data)
        if got != describe(obj):
            sys.exit('vectors.py: %s: Mitogen read back %s, not %s' % (name, got, describe(obj)))
        stripped = strip_memo(data)
        print('%s\t%s\t%s\t%s' % (name, data.hex(), stripped.hex() if stripped else '-', got))
    for name, data in raw():
        print('%s\t%s\t-\t%s' % (name, data.hex(), result_of(data)))


def load():
    for line in sys.stdin:
        name, _, hexdata = line.rstrip('\n').partition('\t')
        print('%s\t%s' % (name, result_of(bytes.fromhex(hexdata))))


if __name__ == '__main__':
    {'dump': dump, 'load': load}[sys.argv[1]]()
