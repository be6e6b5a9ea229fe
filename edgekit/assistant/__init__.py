"""The local assistant: a GGUF model (llama-cpp-python) answering from the event store and live stats.

``llama_cpp`` is imported only when a model is loaded; everything else here works without it.
"""

from edgekit.assistant.agent import Assistant, ChatSession, Transcript
from edgekit.assistant.fit import FitReport, check_fit, estimate_fit, predict_decode_tps
from edgekit.assistant.gguf_meta import GGUFInfo, read_gguf_info
from edgekit.assistant.settings import LLMSettings
from edgekit.assistant.tools import ToolBox, ToolCallError

__all__ = [
    "Assistant",
    "ChatSession",
    "FitReport",
    "GGUFInfo",
    "LLMSettings",
    "ToolBox",
    "ToolCallError",
    "Transcript",
    "check_fit",
    "estimate_fit",
    "predict_decode_tps",
    "read_gguf_info",
]
