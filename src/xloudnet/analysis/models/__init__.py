"""Questions and answers of the analysis library as pydantic v2 models (the HTTP bodies too)."""

from .answers import *  # noqa: F403 - the curated lists below
from .answers import __all__ as _answers
from .common import Endpoint, FlowFields, Question, Answer
from .questions import *  # noqa: F403
from .questions import __all__ as _questions

__all__ = ["Endpoint", "FlowFields", "Question", "Answer", *_questions, *_answers]
