"""batchgraph: LLM work through the providers' Batch APIs, as a durable LangGraph job."""

__version__ = "0.1.0"
