"""Reading the CPU's bf16 support from /proc/cpuinfo's flags line."""

from __future__ import annotations

from desktop_app.core import cpu_features

EPYC_AVX2 = ("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC\n"
             "flags\t\t: fpu vme sse sse2 avx avx2 fma f16c bmi2 sha_ni\n")
XEON_AMX = EPYC_AVX2.replace("avx2 fma", "avx2 avx512f avx512_vnni amx_bf16 amx_tile fma")
COOPER_LAKE = EPYC_AVX2.replace("avx2 fma", "avx2 avx512f avx512_bf16 fma")


def test_bf16_units_are_read_from_the_flags_line():
    assert not cpu_features._flags_say_bf16(EPYC_AVX2)
    assert cpu_features._flags_say_bf16(XEON_AMX)
    assert cpu_features._flags_say_bf16(COOPER_LAKE)


def test_a_flag_is_a_whole_word_and_only_on_the_flags_line():
    assert not cpu_features._flags_say_bf16(EPYC_AVX2.replace("sha_ni", "avx512_bf16x"))
    assert not cpu_features._flags_say_bf16("model name\t: avx512_bf16 inside a name\n")
    assert not cpu_features._flags_say_bf16("")


def test_an_unreadable_cpuinfo_means_no_bf16_units(tmp_path):
    assert cpu_features._read_cpuinfo(str(tmp_path / "missing")) == ""
    assert not cpu_features._flags_say_bf16(cpu_features._read_cpuinfo(str(tmp_path)))
