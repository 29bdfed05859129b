"""CPF rules: 11 digits whose last two are check digits; formatting is accepted and dropped."""

import pytest

from common.cpf import mask_cpf, normalize_cpf


class TestNormalizeCpf:
    @pytest.mark.parametrize("value", ["529.982.247-25", "52998224725", "111.444.777-35", "11144477735", "390.533.447-05"])
    def test_a_valid_cpf_formatted_or_not_gives_its_11_digits(self, value):
        assert normalize_cpf(value) == value.replace(".", "").replace("-", "")

    @pytest.mark.parametrize("value", ["529.982.247-24", "529.982.247-35", "111.444.777-36", "52998224715"])
    def test_a_wrong_check_digit_is_invalid(self, value):
        assert normalize_cpf(value) is None

    @pytest.mark.parametrize("digit", "0123456789")
    def test_eleven_times_the_same_digit_is_invalid(self, digit):
        assert normalize_cpf(digit * 11) is None

    @pytest.mark.parametrize("value", ["5299822472", "529982247255", "529 982 247 25", "529.982.247/25", "٥٢٩٩٨٢٢٤٧٢٥", ""])
    def test_other_shapes_and_scripts_are_invalid(self, value):
        assert normalize_cpf(value) is None


class TestMaskCpf:
    def test_only_the_middle_digits_show(self):
        assert mask_cpf("12345678909") == "***.456.789-**"
