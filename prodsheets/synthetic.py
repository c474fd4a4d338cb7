"""Made-up but realistic data: product pictures, logos, and whole order books.

Used by ``samples/make_samples.py`` (the checked-in samples) and by
``prodsheets sandbox --synthetic N`` (tests, benchmarks), so both draw the same way.
Deterministic for a given seed.

Two worlds: ``realistic`` (the default) gives every design its own configurator render
(1200×900 RGBA PNG, shaded and textured, ~380 KB) and three in four designs their own
customer logo (400×400 RGBA PNG), as real shops have; ``shared`` reuses a handful of
pictures under distinct URLs (the world of the first benchmarks, where a cache hides
most image work).
"""

from __future__ import annotations

import io
import random
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .sandbox import SandboxData

COLOURS = {
    "Bright Red": (200, 30, 40),
    "Ocean Blue": (30, 90, 170),
    "Forest Green": (30, 120, 60),
    "Black": (25, 25, 25),
    "White": (245, 245, 245),
    "Sunburst": (230, 150, 30),
    "Silver": (190, 190, 200),
    "Gold": (212, 175, 55),
    "Heather Grey": (150, 150, 155),
}


def object_id(prefix: str, n: int) -> str:
    """A 24-hex id in MongoDB's shape, stable for (prefix, n)."""
    width = 24 - len(prefix)
    return f"{prefix}{n:0{width}x}"


@lru_cache(maxsize=64)
def product_image(kind: str, colour: str, size: tuple[int, int] = (1200, 900)) -> bytes:
    """A product 'render' on a transparent background, as customizers export them (PNG)."""
    width, height = size
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    fill = (*COLOURS.get(colour, (120, 120, 120)), 255)
    outline = (20, 20, 20, 255)
    if kind == "guitar":
        draw.ellipse(
            (width * 0.12, height * 0.35, width * 0.52, height * 0.9),
            fill=fill,
            outline=outline,
            width=6,
        )
        draw.ellipse(
            (width * 0.22, height * 0.15, width * 0.47, height * 0.5),
            fill=fill,
            outline=outline,
            width=6,
        )
        draw.rectangle(
            (width * 0.45, height * 0.45, width * 0.92, height * 0.52),
            fill=(120, 80, 40, 255),
            outline=outline,
            width=4,
        )
        draw.rectangle(
            (width * 0.25, height * 0.55, width * 0.38, height * 0.62),
            fill=(245, 245, 245, 255),
            outline=outline,
            width=3,
        )
    elif kind == "watch":
        draw.rectangle((width * 0.42, 0, width * 0.58, height), fill=(60, 40, 30, 255))
        draw.ellipse(
            (width * 0.3, height * 0.25, width * 0.7, height * 0.75),
            fill=fill,
            outline=outline,
            width=8,
        )
        draw.ellipse(
            (width * 0.34, height * 0.3, width * 0.66, height * 0.7),
            fill=(250, 250, 250, 255),
            outline=outline,
            width=3,
        )
        draw.line((width * 0.5, height * 0.5, width * 0.5, height * 0.36), fill=outline, width=6)
        draw.line((width * 0.5, height * 0.5, width * 0.6, height * 0.5), fill=outline, width=6)
    else:  # apparel
        body = [
            (width * 0.3, height * 0.1),
            (width * 0.42, height * 0.05),
            (width * 0.58, height * 0.05),
            (width * 0.7, height * 0.1),
            (width * 0.88, height * 0.3),
            (width * 0.78, height * 0.38),
            (width * 0.7, height * 0.3),
            (width * 0.7, height * 0.95),
            (width * 0.3, height * 0.95),
            (width * 0.3, height * 0.3),
            (width * 0.22, height * 0.38),
            (width * 0.12, height * 0.3),
        ]
        draw.polygon(body, fill=fill, outline=outline)
        draw.rectangle(
            (width * 0.4, height * 0.3, width * 0.6, height * 0.5), outline=outline, width=3
        )
    return _encode(img, "PNG")


@lru_cache(maxsize=64)
def logo_image(text: str, colour: str = "Ocean Blue", size: int = 600, seed: int = 0) -> bytes:
    """A customer's logo: shapes and a monogram on a transparent background."""
    rng = random.Random(seed)
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    fill = (*COLOURS.get(colour, (30, 90, 170)), 255)
    draw.ellipse((size * 0.05, size * 0.05, size * 0.95, size * 0.95), fill=fill)
    for _ in range(3):
        x, y = rng.uniform(0.2, 0.6) * size, rng.uniform(0.2, 0.6) * size
        draw.rectangle((x, y, x + size * 0.2, y + size * 0.2), fill=(255, 255, 255, 200))
    draw.text((size * 0.42, size * 0.44), text[:3], fill=(0, 0, 0, 255), font_size=size // 8)
    return _encode(img, "PNG")


class World(StrEnum):
    REALISTIC = "realistic"
    SHARED = "shared"


@lru_cache(maxsize=32)
def _textured(kind: str, colour: str) -> Image.Image:
    """The product render shaded (a diagonal light) and textured (grain), as configurators
    export them: far from the flat shapes that compress to nothing."""
    base = Image.open(io.BytesIO(product_image(kind, colour, (1200, 900)))).convert("RGBA")
    light = Image.linear_gradient("L").resize(base.size).rotate(30, fillcolor=128)
    light = light.point(lambda v: 150 + v * 105 // 255)
    shaded = ImageChops.multiply(base.convert("RGB"), Image.merge("RGB", [light] * 3))
    noise = random.Random(f"{kind}/{colour}").randbytes(base.width * base.height)
    grain = Image.frombytes("L", base.size, noise).point(lambda v: 100 + v * 56 // 255)
    grain = grain.filter(ImageFilter.GaussianBlur(1))
    textured = ImageChops.overlay(shaded, Image.merge("RGB", [grain] * 3)).convert("RGBA")
    textured.putalpha(base.getchannel("A"))
    return textured


def design_render(kind: str, colour: str, design_n: int) -> bytes:
    """This design's own render (unique bytes: its number is drawn on it)."""
    img = _textured(kind, colour).copy()
    draw = ImageDraw.Draw(img)
    draw.text((60, 820), f"Design #{design_n:06d}", fill=(20, 20, 20, 255), font_size=40)
    return _encode(img, "PNG", optimize=False, compress_level=3)


def customer_logo(design_n: int, colour: str) -> bytes:
    """A logo a customer uploaded: 400×400 with transparency, a shaded badge and
    lettering, different for every design."""
    rng = random.Random(design_n)
    img = Image.new("RGBA", (400, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    red, green, blue = COLOURS.get(colour, (30, 90, 170))
    for r in range(180, 0, -6):  # a radial shade, antialiased edges come from the steps
        k = 0.55 + 0.45 * r / 180
        draw.ellipse((200 - r, 200 - r, 200 + r, 200 + r),
                     fill=(int(red * k), int(green * k), int(blue * k), 255))  # fmt: skip
    for _ in range(4):
        x, y = rng.uniform(60, 280), rng.uniform(60, 280)
        draw.rectangle((x, y, x + 60, y + 24), fill=(255, 255, 255, 170))
    draw.text((118, 160), f"{design_n % 1000:03d}", fill=(255, 255, 255, 255), font_size=80)
    return _encode(img, "PNG")


def _encode(img: Image.Image, fmt: str, **options: Any) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **{"optimize": True, **options})
    return buf.getvalue()


def production(key: str, value: str, n: int) -> dict[str, Any]:
    return {
        "key": key,
        "value": value,
        "ref": {"optionId": f"OPTION-{n:06x}", "choiceId": f"CHOICE-{n * 7:06x}"},
    }


def design_record(
    *,
    design_id: int,
    mongo_id: str,
    product: str,
    entries: list[tuple[str, str]],
    image_url: str,
    logos: list[tuple[str, str]] = (),  # type: ignore[assignment]
    texts: list[tuple[str, str]] = (),  # type: ignore[assignment]
    created: str,
) -> dict[str, Any]:
    """A design in the API's exact shape (see the docs' ``GET /designs/:id``)."""
    image = {
        "_id": mongo_id[:-1] + "1",
        "originalFilename": f"design-{design_id}.png",
        "size": 100000,
        "date": created,
        "filename": image_url.rsplit("/", 1)[-1],
        "url": image_url,
        "__v": 0,
    }
    configuration: dict[str, Any] = {}
    for n in range(len(entries)):
        configuration[f"OPTION-{n:06x}"] = f"CHOICE-{n * 7:06x}"
    for n, (name, url) in enumerate(logos):
        logo_id = url.rsplit("/", 1)[-1].split(".")[0]
        configuration[f"OPTION-L{n:05x}"] = {
            "id": f"CHOICE-L{n:05x}",
            "name": name,
            "code": "",
            "description": "",
            "thumbnail": None,
            "type": "logo",
            "views": [
                {
                    "type": "logo",
                    "logo": {
                        "_id": logo_id,
                        "originalFilename": f"{name.lower().replace(' ', '-')}.png",
                        "size": 9539,
                        "date": created,
                        "filename": url.rsplit("/", 1)[-1],
                        "url": url,
                        "id": logo_id,
                    },
                }
            ],
        }
    for n, (name, text) in enumerate(texts):
        configuration[f"OPTION-T{n:05x}"] = {
            "id": f"CHOICE-T{n:05x}",
            "type": "text",
            "name": name,
            "views": [{"type": "text", "text": text}],
        }
    return {
        "productionData": [production(k, v, n) for n, (k, v) in enumerate(entries)],
        "summary": [{"key": k.split(" ")[0], "value": v} for k, v in entries[:6]],
        "designImages": [image],
        "_id": mongo_id,
        "price": 123,
        "configuration": configuration,
        "productId": object_id("5e2a0142c5608500109361", len(product)),
        "productName": product,
        "customizerProductId": object_id("5e2a0142c5608500109362", len(product)),
        "designImage": image,
        "store": "5e2a0143db252ec325e011f2",
        "createdAt": created,
        "updatedAt": created,
        "designId": design_id,
        "__v": 0,
        "id": mongo_id,
    }


def order_record(
    *,
    order_id: int,
    mongo_id: str,
    name: str,
    items: list[tuple[int, str]],
    date: str,
    status: str = "pending",
    payment_status: str = "paid",
    trial: bool = False,
    total: float = 234,
) -> dict[str, Any]:
    """An order in the API's exact shape (see the docs' ``GET /orders/:id``)."""
    return {
        "currency": "CAD",
        "status": status,
        "paymentStatus": payment_status,
        "statusHistory": [{"status": status, "date": date}],
        "exchangeRateAtCreation": 0.7276461903834083,
        "transactionFeePercentage": 1.9,
        "trial": trial,
        "_id": mongo_id,
        "eCommerceOrderId": str(1014154653754 + order_id),
        "eCommerceOrderName": name,
        "store": "5e55926a61f7b78c20f298f6",
        "items": [{"quantity": q, "design": d} for q, d in items],
        "totalPrice": total,
        "date": date,
        "orderId": order_id,
        "__v": 0,
        "id": mongo_id,
    }


SYNTHETIC_PRODUCTS = {
    "guitar": (
        "Custom Guitar",
        [
            "Body material",
            "Pickguard material",
            "Controls material",
            "Pickups material",
            "Neck finish",
            "Strings",
        ],
    ),
    "watch": ("Engraved Watch", ["Case", "Strap", "Dial", "Engraving font"]),
    "apparel": ("Custom T-Shirt", ["Colour", "Size", "Print position", "Print method"]),
}
_VALUES = list(COLOURS)


def synthetic_dataset(
    n_orders: int,
    seed: int = 1,
    start_order_id: int = 100001,
    *,
    world: World = World.REALISTIC,
    workers: int = 1,
    start: datetime | None = None,
) -> SandboxData:
    """``n_orders`` paid orders of 1 to 3 items (about 1.33 on average), each item with its
    own design and design image URL and, for most, a logo URL. In the ``realistic`` world
    every one of those URLs serves its own picture; in the ``shared`` world they serve
    a small pool of pictures (see the module docstring)."""
    rng = random.Random(seed)
    realistic = World(world) is World.REALISTIC
    pool_images = {
        kind: [product_image(kind, c, (1200, 900)) for c in _VALUES[:4]]
        for kind in SYNTHETIC_PRODUCTS
    }
    pool_logos = [logo_image(f"L{i}", _VALUES[i % len(_VALUES)], 600, seed=i) for i in range(6)]
    orders: list[dict[str, Any]] = []
    designs: list[dict[str, Any]] = []
    recipes: dict[str, tuple] = {}
    base = start or datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # one order a minute from there
    design_n = 0
    for i in range(n_orders):
        n_items = rng.choices([1, 2, 3], weights=[75, 17, 8])[0]
        items = []
        for _ in range(n_items):
            design_n += 1
            kind = rng.choice(list(SYNTHETIC_PRODUCTS))
            product, keys = SYNTHETIC_PRODUCTS[kind]
            design_mongo = object_id("6a1d0000", design_n)
            image_name = f"syn-design-{design_n}.png"
            colour = rng.choice(_VALUES[:4])
            recipes[image_name] = (
                (design_render, kind, colour, design_n)
                if realistic
                else (rng.choice(pool_images[kind]),)
            )
            logos = []
            if rng.random() < (0.75 if realistic else 0.66):
                logo_name = f"syn-logo-{design_n}.png"
                recipes[logo_name] = (
                    (customer_logo, design_n, rng.choice(_VALUES))
                    if realistic
                    else (rng.choice(pool_logos),)
                )
                logos.append(("Custom logo", f"https://cdn1.mczr.co/synthetic/{logo_name}"))
            entries = [(k, rng.choice(_VALUES)) for k in keys]
            entries += [(f"{name} logo", url) for name, url in logos]
            created = (base + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
            designs.append(
                design_record(
                    design_id=design_n,
                    mongo_id=design_mongo,
                    product=product,
                    entries=entries,
                    image_url=f"https://cdnv2.mycustomizer.com/synthetic/{image_name}",
                    logos=logos,
                    texts=[("Name", f"Customer {i} — Zoë")] if rng.random() < 0.5 else [],
                    created=created,
                )
            )
            items.append((rng.randint(1, 5), design_mongo))
        order_id = start_order_id + i
        orders.append(
            order_record(
                order_id=order_id,
                mongo_id=object_id("6a1e0000", i + 1),
                name=f"#{order_id}",
                items=items,
                date=(base + timedelta(minutes=i)).isoformat().replace("+00:00", "Z"),
            )
        )
    names = list(recipes)
    if workers > 1 and realistic:  # drawing ~400 KB PNGs: a few seconds per hundred designs
        with ProcessPoolExecutor(workers) as pool:
            drawn = list(pool.map(_draw, recipes.values(), chunksize=16))
    else:
        drawn = [_draw(recipe) for recipe in recipes.values()]
    return SandboxData(orders=orders, designs=designs, assets=dict(zip(names, drawn, strict=True)))


def _draw(recipe: tuple) -> bytes:
    """``(bytes,)`` as it is, or ``(function, *args)`` drawn now."""
    return recipe[0] if len(recipe) == 1 else recipe[0](*recipe[1:])
