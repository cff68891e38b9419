"""LangChain chat models at batch price: `BatchChatModel` (see `chat_model`)."""

from batchgraph.langchain.chat_model import BatchCallFailed, BatchChatModel

__all__ = ["BatchCallFailed", "BatchChatModel"]
