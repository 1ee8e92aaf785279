import dlib
import numpy as np
import pytest

from facesynth_bench.embed.registry import create_embedder
from facesynth_bench.errors import FsbenchError


@pytest.fixture(scope="module")
def embedder():
    return create_embedder("dlib", None, device="cpu")


def test_batched_chips_match_dlibs_own_single_image_path(embedder):
    from facesynth_bench.embed.dlib_resnet import dlib_model_path

    images = np.random.default_rng(5).integers(0, 256, (3, 150, 150, 3), dtype=np.uint8)
    got = embedder.embed(images)
    predictor = dlib.shape_predictor(str(dlib_model_path("shape_predictor_5_face_landmarks.dat")))
    model = dlib.face_recognition_model_v1(
        str(dlib_model_path("dlib_face_recognition_resnet_model_v1.dat"))
    )
    for image, row in zip(images, got, strict=True):
        shape = predictor(image, dlib.rectangle(8, 8, 142, 142))
        ref = np.asarray(model.compute_face_descriptor(image, shape, 0, 0.25))
        np.testing.assert_allclose(row, ref / np.linalg.norm(ref), atol=1e-5)
    assert got.shape == (3, 128) and got.dtype == np.float32


def test_detect_mode_counts_fallbacks_and_options_are_checked():
    embedder = create_embedder("dlib", None, device="cpu", box="detect")
    embedder.embed(np.zeros((2, 150, 150, 3), np.uint8))
    assert embedder.stats() == {"images": 2, "detector_fallback": 2}
    with pytest.raises(FsbenchError, match="box mode 'nope'"):
        create_embedder("dlib", None, box="nope")
    with pytest.raises(FsbenchError, match="takes no checkpoint"):
        create_embedder("dlib", "x.pth")
    with pytest.raises(FsbenchError, match="bad options"):
        create_embedder("dlib", None, flip=False)


def test_wrong_batch_shape_is_refused(embedder):
    with pytest.raises(FsbenchError, match=r"expected uint8 images \(N, 150, 150, 3\)"):
        embedder.embed(np.zeros((1, 112, 112, 3), np.uint8))
