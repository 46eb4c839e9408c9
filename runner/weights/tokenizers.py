"""Tokenizers made locally, without downloads.

CLIP: a byte-level vocabulary (the 256 byte characters, each also with `</w>`, plus the
two special tokens) and no merges: every prompt tokenizes, deterministically, on every
transformers version. model_max_length=77 matters: the default is huge.
"""
import json
import os

CLIP_MAX_LENGTH = 77


def bytes_to_unicode():
    """GPT-2/CLIP's reversible byte -> printable character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1)) \
        + list(range(ord("\xae"), ord("\xff") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_clip_tokenizer(directory):
    chars = list(bytes_to_unicode().values())
    vocab = {}
    for token in ["<|startoftext|>", "<|endoftext|>"] + chars + [c + "</w>" for c in chars]:
        vocab[token] = len(vocab)
    with open(os.path.join(directory, "vocab.json"), "w", encoding="utf-8") as fh:
        json.dump(vocab, fh, ensure_ascii=False)
    with open(os.path.join(directory, "merges.txt"), "w", encoding="utf-8") as fh:
        fh.write("#version: 0.2\n")


def load_clip_tokenizer(directory):
    from transformers import CLIPTokenizer
    return CLIPTokenizer(os.path.join(directory, "vocab.json"), os.path.join(directory, "merges.txt"),
                         model_max_length=CLIP_MAX_LENGTH)


def byte_token_ids(prompt, length, vocab_size, pad_id=0, eos_id=1):
    """T5-style ids without a tokenizer: bytes shifted past the special ids, eos, padding.

    Used for IF with tiny/random weights: the prompt embeddings are computed by our own
    call of the T5 encoder, so the result does not depend on whether sentencepiece (which
    T5Tokenizer needs) is installed in a given image.
    """
    ids = [2 + (b % (vocab_size - 2)) for b in prompt.encode("utf-8")][: length - 1] + [eos_id]
    mask = [1] * len(ids) + [0] * (length - len(ids))
    ids = ids + [pad_id] * (length - len(ids))
    return ids, mask
