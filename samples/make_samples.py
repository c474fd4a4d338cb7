"""Regenerate samples/: orders.json, designs.json and the images under assets/.

    .venv/bin/python samples/make_samples.py

Deterministic: running it twice gives the same files. samples/README.md says what
each order exercises; keep the two in step.
"""

from __future__ import annotations

import json
from pathlib import Path

from prodsheets.synthetic import (
    design_record,
    grey_scan,
    logo_image,
    object_id,
    order_record,
    phone_photo,
    product_image,
    svg_logo,
)

HERE = Path(__file__).resolve().parent
CDN1 = "https://cdn1.mczr.co/acme-custom/"
CDN2 = "https://cdnv2.mycustomizer.com/acme-custom/"

GUITAR = [
    ("Body material", "Bright Red"),
    ("Pickguard material", "White"),
    ("Controls material", "Black"),
    ("Pickups material", "White"),
    ("Logo logo", CDN1 + "5ba28ac92f99bd001016621c.png"),
    ("Sticker image", "Red heart"),
    ("Name font", "Bodoni"),
    ("Name color", "Red"),
]

SNEAKER_PARTS = [
    "Toe cap",
    "Vamp",
    "Quarter",
    "Heel counter",
    "Eyestay",
    "Tongue",
    "Collar",
    "Lining",
    "Laces",
    "Aglets",
    "Midsole",
    "Outsole",
    "Insole",
    "Heel tab",
]


def sneaker_entries() -> list[tuple[str, str]]:
    colours = ["Black", "White", "Ocean Blue", "Bright Red", "Forest Green", "Gold", "Silver"]
    entries = []
    for n, part in enumerate(SNEAKER_PARTS):
        entries.append(
            (f"{part} material", ["Suede", "Full-grain leather", "Mesh", "Canvas"][n % 4])
        )
        entries.append((f"{part} colour", colours[n % len(colours)]))
        entries.append(
            (f"{part} stitching", "Contrast double stitch, 6 mm from the edge, waxed thread")
        )
    entries.append(("Size", "EU 42 / US 8.5"))
    entries.append(
        (
            "Special instructions",
            "Customer asked for the left heel tab to read 'L' and the right 'R'; "
            "pack each shoe in its own bag with the spare laces and the care card.",
        )
    )
    return entries


def build() -> None:
    assets = HERE / "assets"
    assets.mkdir(exist_ok=True)
    files = {
        "5e74283608310f001714de62.png": product_image("guitar", "Bright Red", (1000, 750)),
        "guitar-ocean.png": product_image("guitar", "Ocean Blue", (1000, 750)),
        "watch-gold.png": product_image("watch", "Gold", (900, 900)),
        "watch-silver.png": product_image("watch", "Silver", (900, 900)),
        "tshirt-black.png": product_image("apparel", "Black", (900, 900)),
        "tshirt-white.png": product_image("apparel", "White", (900, 900)),
        "tshirt-grey.png": product_image("apparel", "Heather Grey", (900, 900)),
        "sneaker-blue.png": product_image("apparel", "Ocean Blue", (1000, 750)),
        "5ba28ac92f99bd001016621c.png": logo_image("YL", "Bright Red", 600, seed=1),
        "logo-acme-team.png": logo_image("ACM", "Ocean Blue", 800, seed=2),
        "logo-bakery.png": logo_image("BK", "Gold", 600, seed=3),
        "logo-tiny.png": logo_image("T", "Forest Green", 64, seed=4),
        "hoodie-green.png": product_image("apparel", "Forest Green", (900, 900)),
        "watch-gold-arabic.png": product_image("watch", "Gold", (800, 800)),
        "skateboard-sunburst.png": product_image("skateboard", "Sunburst", (1200, 600)),
        "IMG_2041.jpg": phone_photo("CAFE", "Forest Green"),
        "signature-scan.png": grey_scan(),
        "team-logo.svg": svg_logo("Ocean Blue", "Sunburst"),
    }
    for name, data in files.items():
        (assets / name).write_bytes(data)

    created = "2026-11-25T09:00:00.000Z"
    d = lambda n: object_id("5e74283608310f0017", n)  # noqa: E731
    designs = [
        design_record(
            design_id=2,
            mongo_id="5e74283608310f001714de63",
            product="Custom Guitar",
            entries=GUITAR,
            image_url=CDN2 + "5e74283608310f001714de62.png",
            logos=[("Custom logo", CDN1 + "5ba28ac92f99bd001016621c.png")],
            texts=[("Default text", "Your text")],
            created=created,
        ),
        design_record(
            design_id=3,
            mongo_id=d(3),
            product="Engraved Watch",
            entries=[
                ("Case", "Gold"),
                ("Strap", "Brown leather"),
                ("Dial", "White"),
                ("Engraving font", "Script"),
                ("Engraving", "Für Amélie — ♥ 12.06.2026"),
            ],
            image_url=CDN2 + "watch-gold.png",
            texts=[("Engraving", "Für Amélie — ♥ 12.06.2026")],
            created=created,
        ),
        design_record(
            design_id=4,
            mongo_id=d(4),
            product="Custom T-Shirt",
            entries=[
                ("Colour", "Black"),
                ("Size", "S"),
                ("Print position", "Front, centred"),
                ("Logo logo", CDN1 + "logo-acme-team.png"),
            ],
            image_url=CDN2 + "tshirt-black.png",
            logos=[("Team logo", CDN1 + "logo-acme-team.png")],
            created=created,
        ),
        design_record(
            design_id=5,
            mongo_id=d(5),
            product="Custom T-Shirt",
            entries=[
                ("Colour", "White"),
                ("Size", "M"),
                ("Print position", "Front, centred"),
                ("Logo logo", CDN1 + "logo-acme-team.png"),
            ],
            image_url=CDN2 + "tshirt-white.png",
            logos=[("Team logo", CDN1 + "logo-acme-team.png")],
            created=created,
        ),
        design_record(
            design_id=6,
            mongo_id=d(6),
            product="Custom T-Shirt",
            entries=[
                ("Colour", "Heather Grey"),
                ("Size", "XXL"),
                ("Print position", "Back"),
                ("Back text", "ÉQUIPE DES CRÉATEURS"),
            ],
            image_url=CDN2 + "tshirt-grey.png",
            texts=[("Back text", "ÉQUIPE DES CRÉATEURS")],
            created=created,
        ),
        design_record(
            design_id=7,
            mongo_id=d(7),
            product="Custom Guitar",
            entries=[
                ("Body material", "Ocean Blue"),
                ("Pickguard material", "Black"),
                ("Controls material", "Silver"),
                ("Pickups material", "Black"),
                ("Name font", "Helvetica"),
                ("Name color", "White"),
            ],
            image_url=CDN2 + "guitar-ocean.png",
            texts=[("Your name", "  José  Núñez  ")],
            created=created,
        ),
        design_record(
            design_id=8,
            mongo_id=d(8),
            product="Custom Sneaker",
            entries=sneaker_entries(),
            image_url=CDN2 + "sneaker-blue.png",
            logos=[("Tongue logo", CDN1 + "logo-bakery.png")],
            texts=[("Heel text left", "L"), ("Heel text right", "R")],
            created=created,
        ),
        design_record(
            design_id=9,
            mongo_id=d(9),
            product="Engraved Watch",
            entries=[
                ("Case", "Silver"),
                ("Strap", "Steel mesh"),
                ("Dial", "Black"),
                ("Engraving font", "Serif"),
            ],
            image_url=CDN2 + "watch-silver.png",
            texts=[
                ("Engraving (front)", "Καλή χρονιά, Νίκο!"),
                ("Engraving (back)", "С днём рождения, Аня"),
            ],
            created=created,
        ),
        design_record(
            design_id=10,
            mongo_id=d(10),
            product="Custom T-Shirt",
            entries=[
                ("Colour", "White"),
                ("Size", "L"),
                ("Print note", "<b>not bold</b> & {{ 7*7 }} {% raw %}"),
                ("Logo logo", CDN1 + "logo-tiny.png"),
            ],
            image_url=CDN2 + "tshirt-white.png",
            logos=[("Bakery logo", CDN1 + "logo-tiny.png")],
            texts=[("Slogan", "<script>alert('x')</script> Bread & {{ butter }}")],
            created=created,
        ),
    ]
    designs += [
        design_record(
            design_id=11,
            mongo_id=d(11),
            product="Custom Hoodie",
            entries=[
                ("Colour", "Forest Green"),
                ("Size", "M"),
                ("Print position", "Back, full width"),
                ("Back print", CDN1 + "IMG_2041.jpg"),
                ("Name on sleeve", "山田 花子"),
            ],
            image_url=CDN2 + "hoodie-green.png",
            logos=[("Back print", CDN1 + "IMG_2041.jpg")],
            texts=[("Name on sleeve", "山田 花子")],
            created=created,
        ),
        design_record(
            design_id=12,
            mongo_id=d(12),
            product="Engraved Watch",
            entries=[
                ("Case", "Gold"),
                ("Strap", "Brown leather"),
                ("Dial", "White"),
                ("Engraving font", "Naskh"),
                ("Engraving", "محمد عبد الله"),
                ("Caseback signature", CDN1 + "signature-scan.png"),
            ],
            image_url=CDN2 + "watch-gold-arabic.png",
            logos=[("Caseback signature", CDN1 + "signature-scan.png")],
            texts=[
                ("Engraving", "محمد عبد الله"),
                ("Gift card", "Happy birthday!\nWith love,\nAmira"),
            ],
            created=created,
        ),
        design_record(
            design_id=13,
            mongo_id=d(13),
            product="Custom Skateboard",
            entries=[
                ("Deck", 'Maple 8.25"'),
                ("Grip tape", "Black"),
                ("Trucks", "Silver"),
                ("Wheels", "White 54 mm"),
                ("Top graphic", CDN1 + "team-logo.svg"),
                ("Grip tape engraving", "Skate or die 🛹🔥"),
            ],
            image_url=CDN2 + "skateboard-sunburst.png",
            logos=[("Top graphic", CDN1 + "team-logo.svg")],
            texts=[("Grip tape engraving", "Skate or die 🛹🔥")],
            created=created,
        ),
    ]
    order_mongo = lambda n: object_id("5e69254b7148411680", n)  # noqa: E731
    orders = [
        order_record(
            order_id=1001,
            mongo_id="5e69254b714841168b8d9825",
            name="#1001",
            items=[(1, "5e74283608310f001714de63")],
            date="2026-11-20T17:52:11.776Z",
        ),
        order_record(
            order_id=1002,
            mongo_id=order_mongo(2),
            name="#1002",
            items=[(2, d(3))],
            date="2026-11-21T09:10:00.000Z",
            status="in production",
        ),
        order_record(
            order_id=1003,
            mongo_id=order_mongo(3),
            name="#1003",
            items=[(5, d(4)), (3, d(5)), (1, d(6))],
            date="2026-11-21T11:30:00.000Z",
        ),
        order_record(
            order_id=1004,
            mongo_id=order_mongo(4),
            name="#1004",
            items=[(1, d(7)), (2, d(3))],
            date="2026-11-22T15:00:00.000Z",
        ),
        order_record(
            order_id=1005,
            mongo_id=order_mongo(5),
            name="#1005",
            items=[(1, d(8))],
            date="2026-11-23T08:45:00.000Z",
        ),
        order_record(
            order_id=1006,
            mongo_id=order_mongo(6),
            name="#1006",
            items=[(4, d(9))],
            date="2026-11-24T13:20:00.000Z",
        ),
        order_record(
            order_id=1007,
            mongo_id=order_mongo(7),
            name="#1007",
            items=[(2, d(10))],
            date="2026-11-25T10:05:00.000Z",
        ),
        order_record(
            order_id=1008,
            mongo_id=order_mongo(8),
            name="#W-2041",
            items=[(3, d(4)), (1, "5e74283608310f001714de63")],
            date="2026-11-25T18:40:00.000Z",
        ),
        order_record(
            order_id=1009,
            mongo_id=order_mongo(9),
            name="#1009",
            items=[(1, d(5))],
            date="2026-11-26T07:00:00.000Z",
            trial=True,
        ),
        order_record(
            order_id=1010,
            mongo_id=order_mongo(10),
            name="#1010",
            items=[(2, d(6))],
            date="2026-11-26T07:30:00.000Z",
            payment_status="pending",
        ),
        order_record(
            order_id=1011,
            mongo_id=order_mongo(11),
            name="#1011",
            items=[(1, d(11))],
            date="2026-11-26T09:15:00.000Z",
        ),
        order_record(
            order_id=1012,
            mongo_id=order_mongo(12),
            name="#1012",
            items=[(1, d(12))],
            date="2026-11-26T10:40:00.000Z",
        ),
        order_record(
            order_id=1013,
            mongo_id=order_mongo(13),
            name="#1013",
            items=[(2, d(13))],
            date="2026-11-26T12:05:00.000Z",
        ),
    ]
    for name, payload in (("orders.json", orders), ("designs.json", designs)):
        text = json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
        (HERE / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    build()
