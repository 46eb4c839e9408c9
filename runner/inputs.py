"""Input images made offline and deterministically (same bytes on every version): a
mountain sketch standing in for the page's init image, an inpainting mask, and a canny
edge map computed with numpy (no opencv in the images)."""


def mountains(width, height, seed=0):
    """RGB PIL image: sky gradient, two ridges of mountains, a lake line."""
    import numpy as np
    from PIL import Image
    rng = np.random.RandomState(seed)
    y = np.linspace(0.0, 1.0, height)[:, None]
    x = np.linspace(0.0, 1.0, width)[None, :]
    img = np.zeros((height, width, 3), dtype=np.float64)
    img[...] = np.stack([0.55 + 0.3 * y, 0.7 + 0.2 * y, 0.95 - 0.1 * y], axis=-1)[:, :1, :] * np.ones((1, width, 1))
    for depth, (base, amp, colour) in enumerate(((0.45, 0.25, (0.45, 0.45, 0.55)),
                                                  (0.6, 0.18, (0.25, 0.35, 0.25)))):
        phases = rng.uniform(0, 2 * np.pi, size=3)
        ridge = base - amp * (0.5 * np.sin(3 * np.pi * x + phases[0]) + 0.3 * np.sin(7 * np.pi * x + phases[1])
                              + 0.2 * np.abs(np.sin(13 * np.pi * x + phases[2])))
        below = y >= ridge
        img[below] = np.array(colour)[None, :] * np.ones((int(below.sum()), 1))
    img[y[:, 0] > 0.85] = (0.3, 0.45, 0.7)
    return Image.fromarray((np.clip(img, 0, 1) * 255).round().astype(np.uint8), "RGB")


def center_mask(width, height):
    """White (repaint) ellipse in the middle on black, like the page's inpainting mask."""
    import numpy as np
    from PIL import Image
    y = (np.arange(height)[:, None] + 0.5) / height - 0.5
    x = (np.arange(width)[None, :] + 0.5) / width - 0.5
    inside = (x / 0.3) ** 2 + (y / 0.25) ** 2 <= 1.0
    return Image.fromarray((inside * 255).astype(np.uint8), "L").convert("RGB")


def _convolve(img, kernel):
    import numpy as np
    kh, kw = kernel.shape
    padded = np.pad(img, ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode="edge")
    out = np.zeros_like(img)
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * padded[i:i + img.shape[0], j:j + img.shape[1]]
    return out


def canny(image, low=100, high=200):
    """Canny edges as an RGB PIL image (white edges on black), the controlnet-canny input:
    gaussian blur, Sobel, non-maximum suppression, double threshold, hysteresis."""
    import numpy as np
    from PIL import Image
    gray = np.asarray(image.convert("L"), dtype=np.float64)
    g = np.array([1, 4, 6, 4, 1], dtype=np.float64)
    blur = _convolve(gray, np.outer(g, g) / 256.0)
    gx = _convolve(blur, np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64))
    gy = _convolve(blur, np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64))
    mag = np.hypot(gx, gy)
    angle = (np.rad2deg(np.arctan2(gy, gx)) + 180.0) % 180.0
    padded = np.pad(mag, 1, mode="constant")
    h, w = mag.shape
    neighbours = {
        0: ((0, 1), (0, -1)), 45: ((-1, 1), (1, -1)), 90: ((1, 0), (-1, 0)), 135: ((-1, -1), (1, 1)),
    }
    bins = (np.round(angle / 45.0).astype(int) % 4) * 45
    keep = np.zeros_like(mag, dtype=bool)
    for direction, ((dy1, dx1), (dy2, dx2)) in neighbours.items():
        n1 = padded[1 + dy1:1 + dy1 + h, 1 + dx1:1 + dx1 + w]
        n2 = padded[1 + dy2:1 + dy2 + h, 1 + dx2:1 + dx2 + w]
        keep |= (bins == direction) & (mag >= n1) & (mag >= n2)
    thin = np.where(keep, mag, 0.0)
    strong = thin >= high
    weak = (thin >= low) & ~strong
    edges = strong.copy()
    for _ in range(max(h, w)):  # hysteresis: grow strong edges through weak pixels
        grown = np.pad(edges, 1)
        near = np.zeros_like(edges)
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                near |= grown[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
        new = edges | (weak & near)
        if (new == edges).all():
            break
        edges = new
    rgb = np.repeat((edges * 255).astype(np.uint8)[:, :, None], 3, axis=2)
    return Image.fromarray(rgb, "RGB")


def load_image(path, width, height, mode="RGB"):
    from PIL import Image
    with Image.open(path) as im:
        return im.convert(mode).resize((width, height))
