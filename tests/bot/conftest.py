"""Bot test set-up: the scripted-caller helper's asserts report like the tests' own."""

import pytest

pytest.register_assert_rewrite("tests.bot.voice_call")
