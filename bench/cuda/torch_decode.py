"""PyTorch eager peer of bench_decode.cpp: the same random ~100M LLaMA (transformers' LlamaForCausalLM
when installed, else a plain eager implementation), greedy decoding with a KV cache at batch 1/16/64,
fp32 (TF32 matmuls allowed) on the GPU. Prints one JSON object."""
import json
import sys
import time

import torch

new_tokens = int(sys.argv[1]) if len(sys.argv) > 1 else 128
torch.backends.cuda.matmul.allow_tf32 = True
dev = "cuda"
try:
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
                      num_key_value_heads=12, vocab_size=32000, max_position_embeddings=1024, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg).to(dev).eval()
    impl = "transformers"
except ImportError:
    model, impl = None, "none"

rows = []
if model is not None:
    for batch in (1, 16, 64):
        ids = torch.tensor([[1, 100 + b, 200 + b, 300 + b] for b in range(batch)], device=dev)

        def run():
            with torch.no_grad():
                model.generate(ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False, use_cache=True)
            torch.cuda.synchronize()

        run()
        best = 1e30
        for _ in range(3):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        rows.append({"batch": batch, "tokens_per_s": batch * new_tokens / best})
print(json.dumps({"impl": impl, "torch": torch.__version__, "device": torch.cuda.get_device_name(0), "rows": rows}))
