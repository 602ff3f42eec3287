"""Scoring a data set with lwai on Ray Data: actors that each hold one lwai.Session, fed batches
of rows by map_batches. One Session per actor (a Session serializes its runs), the model file
memory-mapped by each (shared pages on one machine; on a cluster, ship the file or
model.to_bytes() through the object store).

    python python/examples/ray_batch_inference.py [--actors 2] [--batch-size 64]

prints the accuracy of the digits CNN over scikit-learn's held-out digits, scored by Ray and by a
plain loop, and checks that both give the same outputs.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import numpy as np

import lwai


class LwaiPredictor:
    """A Ray Data actor: built once per actor, called once per batch of rows."""

    def __init__(self, model_path: str, threads: int = 1):
        self.session = lwai.Session(model_path, threads=threads)
        self.input_name = self.session.inputs[0].name

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        (probabilities,) = self.session.run({self.input_name: batch["image"]})
        return {"index": batch["index"], "probabilities": probabilities}


def score_with_ray(model_path: str, images: np.ndarray, actors: int, batch_size: int):
    """Probabilities for every image, in input order, from `actors` lwai actors."""
    import ray

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    dataset = ray.data.from_items([{"index": i, "image": image} for i, image in enumerate(images)])
    predictions = dataset.map_batches(
        LwaiPredictor,
        fn_constructor_args=(model_path,),
        concurrency=actors,
        batch_size=batch_size,
        batch_format="numpy",
    )
    rows = predictions.take_all()
    order = np.argsort([row["index"] for row in rows])
    return np.stack([rows[i]["probabilities"] for i in order])


def score_in_a_loop(model_path: str, images: np.ndarray, batch_size: int) -> np.ndarray:
    predictor = LwaiPredictor(model_path)
    batches = [
        predictor({"index": np.arange(len(chunk)), "image": chunk})["probabilities"]
        for chunk in (images[i : i + batch_size] for i in range(0, len(images), batch_size))
    ]
    return np.concatenate(batches)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    import ray

    _, _, images, labels = lwai.datasets.load_digits_split()
    model_path = os.path.join(tempfile.mkdtemp(), "digits.lwai")
    lwai.convert(lwai.datasets.get_example("digits_cnn.onnx")).save(model_path)
    ray.init(num_cpus=args.actors, include_dashboard=False, log_to_driver=False)
    try:
        by_ray = score_with_ray(model_path, images, args.actors, args.batch_size)
    finally:
        ray.shutdown()
    by_loop = score_in_a_loop(model_path, images, args.batch_size)
    # Ray may cut the batches elsewhere than the loop: equal up to float rounding, same labels.
    np.testing.assert_allclose(by_ray, by_loop, rtol=1e-5, atol=1e-7)
    assert (by_ray.argmax(1) == by_loop.argmax(1)).all()
    accuracy = (by_ray.argmax(1) == labels).mean()
    print(
        f"ray ({args.actors} actors): accuracy {accuracy:.4f} on {len(labels)} digits, "
        "the same outputs as a plain loop"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
