"""Type stub of the compiled extension (python/src/lib.rs). Use the wrappers in `themeshift`."""
from typing import Callable, Iterable, List, Optional, Tuple

__version__: str

class ThemeshiftError(Exception): ...
class InputError(ThemeshiftError): ...
class ConfigError(ThemeshiftError): ...
class FontError(ThemeshiftError): ...
class WriteError(ThemeshiftError): ...

def run(args: List[str]) -> str:
    """Run the pipeline as `themeshift run ARGS`; returns the summary as JSON."""

def run_options() -> List[Tuple[str, str, str]]:
    """(flag, how it takes values: switch/one/list/repeat, help) of every `themeshift run` option."""

def cli(argv: List[str]) -> int:
    """The `themeshift` command line; returns its exit status."""

def normalize(texts: List[str]) -> List[str]: ...
def segment(texts: List[str], user_dicts: List[str] = ..., threads: int = ...) -> List[List[str]]: ...
def segment_ids(texts: List[str], user_dicts: List[str] = ..., threads: int = ...) -> Tuple[List[str], bytes, bytes]: ...
def keywords(text: str, top: int = ...) -> List[Tuple[str, float]]: ...
def tfidf(
    token_lists: List[List[str]],
    min_df: str = ...,
    max_df: str = ...,
    max_features: Optional[int] = ...,
    sublinear_tf: bool = ...,
) -> Tuple[bytes, bytes, bytes, Tuple[int, int], List[str]]: ...
def dates(texts: List[str]) -> List[Tuple[Optional[str], str, Optional[str]]]: ...

def shard_plan(args: List[str]) -> str:
    """The shard plan of `themeshift run ARGS` as JSON, after the run's cheap checks."""

def map_shard(args: List[str], plan: str, shard: int, threads: int) -> Tuple[bytes, bytes, bytes]:
    """One shard read, normalized and segmented: its partial, texts and tokens (MessagePack each)."""

def forget_reading_tools() -> None:
    """Let go of the normalizer and segmenter `map_shard` keeps for the next shard."""

def answer_texts(texts: bytes, common: bytes, request: bytes) -> bytes:
    """A shard's answer to a request of the driver's about its texts (where they are)."""

def answer_tokens(tokens: bytes, common: bytes, request: bytes) -> bytes:
    """A shard's answer to a request of the driver's about its tokens (where they are)."""
class ShardJoin:
    """The driver of a sharded run: add each shard's partial, then finish the run."""
    def __init__(self, args: List[str], plan: str) -> None: ...
    def add(self, partial: bytes) -> None: ...
    def finish(
        self,
        sharding: str,
        ask_shards: Callable[[str, bytes, List[Tuple[int, bytes]]], Iterable[bytes]],
        shards_done: Optional[Callable[[], None]] = None,
    ) -> str: ...

class ModelShards:
    """One model's shards (``"lda"`` or ``"theme_model"``) a Ray actor holds from sweep to sweep."""
    def __init__(self, model: str) -> None: ...
    def answer(self, shard: int, common: bytes, request: bytes) -> bytes: ...
