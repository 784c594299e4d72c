"""PyTorch CUDA prediction throughput on the bench's work (`infer_bench.py`'s, on the GPU): the
dev split in file order, dynamic padding per batch, tokenization included, model loading
excluded, fp32, synchronised before the clock stops. For `cargo xtask gpu-check`.
Usage: gpu_predict.py --model-dir DIR --data rt_snippets.tsv --harness DIR [--batch-sizes 32,64]
"""
import argparse
import json
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--harness", required=True, help="../shared/reference (for common.py)")
    ap.add_argument("--batch-sizes", default="32,64")
    ap.add_argument("--max-length", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    sys.path.insert(0, args.harness)
    import common
    import torch
    from transformers import BertForSequenceClassification

    tok = common.load_tokenizer(args.model_dir, "fast")
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(args.model_dir, num_labels=2).cuda().eval()
    texts, _ = common.load_split(args.data, "dev")
    res = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "dev": {}}
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        chunks = [texts[i:i + bs] for i in range(0, len(texts), bs)]

        def run():
            with torch.inference_mode():
                for c in chunks:
                    b = tok(c, truncation=True, max_length=args.max_length, padding=True, return_tensors="pt").to("cuda")
                    model(**b).logits.cpu()
            torch.cuda.synchronize()

        run()  # warm-up: CUDA context, cuBLAS handles, kernel selection
        times = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
        res["dev"][str(bs)] = {"end_to_end_ex_per_s_median": len(texts) / statistics.median(times)}
        print(f"dev bs={bs}: {res['dev'][str(bs)]['end_to_end_ex_per_s_median']:.1f} examples/s", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(json.dumps(res, indent=2) + "\n")


if __name__ == "__main__":
    main()
