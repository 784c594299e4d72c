"""A client of `bertrs-cli serve` that nobody here wrote: huggingface_hub's InferenceClient.

    serve_client_check.py URL '["text", ...]'   → prints a JSON list, one answer per text:
                                                  [{"label": ..., "score": ...}, ...]

`InferenceClient(URL).text_classification(text)` posts `{"inputs": text, "parameters": {}}` to
URL itself, as it does to a TEI endpoint or an Inference Endpoint (tests/serve.rs).
"""
import json
import sys

from huggingface_hub import InferenceClient

url, texts = sys.argv[1], json.loads(sys.argv[2])
client = InferenceClient(url)
out = []
for text in texts:
    answer = client.text_classification(text)
    out.append([{"label": a.label, "score": a.score} for a in answer])
print(json.dumps(out))
