"""Hand-written material for the demo shop's customer-service assistant: the help articles (delivery,
returns, warranty, sizing, payment, and one in Chinese) and the question-and-answer templates that
`demo.seed.knowledge` fills from each demo product's attributes.

Plain data. Policy numbers in the articles (30 days, 2 years, $50...) agree with the product answers, so
the assistant never finds two answers that disagree. An answer template names only the attribute its
question is about, so every generated answer is true of its product.
"""

from __future__ import annotations

from typing import Any

from assistant import views

DEMO_KEY = "pk_demo_storefront_0001"  # public by design (it is in the demo page's HTML), and demo-only
DEMO_KEY_NAME = views.DEMO_KEY_NAME
DEMO_KEY_SITE = views.DEMO_SITE  # the demo page (assistant.views) finds its key by this name and site
DEMO_KEY_ORIGINS = ("http://127.0.0.1:8000", "http://localhost:8000")

ARTICLES: tuple[dict[str, Any], ...] = (
    {
        "title": "Delivery: times, costs and tracking",
        "topic": "delivery",
        "language": "en",
        "body": """Orders placed before 2 pm (Eastern time) on a working day leave our warehouse the same day; later
orders leave the next working day.

## Delivery options and costs

- **Standard delivery** (3 to 5 working days): free on orders over $50, otherwise $4.95.
- **Express delivery** (1 to 2 working days): $9.95, for orders placed before 2 pm on a working day.
- **Saturday delivery**: $14.95, for express orders placed by Thursday 2 pm.

We do not deliver on Sundays or public holidays.

## Tracking your parcel

You get an email with a tracking link as soon as your parcel leaves the warehouse. Tracking can take up to
24 hours to show the first scan. If the tracking has not changed for 5 working days, tell us in the chat
and we will open an investigation with the carrier.

## International delivery

We ship to 30 countries in Europe, North America and Asia-Pacific. International delivery takes 7 to 14
working days and costs $19.95, free on orders over $150. Import duties and taxes are charged by the
destination country and are paid by the recipient.

## Fresh coffee

Coffee beans are roasted to order and shipped within 2 to 3 days of roasting, so they may leave a day
later than the rest of your order. We send them separately at no extra cost.

## Missing or damaged parcels

If your parcel has not arrived 10 working days after dispatch, or arrives damaged, tell us within 14 days
of the expected delivery date. We send a replacement or refund you in full; you never need to wait for the
carrier's investigation.
""",
    },
    {
        "title": "Returns and refunds",
        "topic": "returns",
        "language": "en",
        "body": """You can return most items within **30 days** of delivery for a full refund, no reason needed.

## How to return an item

1. Start a return from the link in your order confirmation email, or ask us in the chat.
2. Print the prepaid label (returns within the US are free) and pack the item in its original packaging.
3. Drop the parcel at any post office or carrier drop-off point within 7 days of starting the return.

## Refunds

We refund to the original payment method within 5 working days of receiving your return. Your bank may
take another 3 to 5 working days to show it. Original delivery costs are refunded when the whole order is
returned or the item was faulty.

## Exchanges

Exchanging clothing or shoes for another size or colour is free: start a return and choose "exchange". We
send the new item as soon as the return is scanned by the carrier.

## What cannot be returned

- Opened skincare products, for hygiene reasons (unless they are faulty).
- Opened bags of coffee beans.
- Pillows and duvets taken out of their sealed packaging.
- Worn clothing or shoes, or items without their tags. Running shoes may be tried on indoors.

## International returns

Customers outside the US can return within 30 days too; the return postage is paid by the customer unless
the item is faulty.
""",
    },
    {
        "title": "Warranty and repairs",
        "topic": "warranty",
        "language": "en",
        "body": """Every product we sell is covered against manufacturing defects.

## How long the warranty lasts

- **Electronics** (headphones, earbuds, smartphones, chargers, cables, power banks): 2 years.
- **Coffee machines, grinders and kettles**: 2 years; espresso machines 3 years on the pump.
- **Outdoor gear** (tents, sleeping bags, stoves, headlamps): 2 years.
- **Clothing, shoes and bedding**: 1 year.
- **Skincare**: until the expiry date printed on the pack.

The warranty starts on the delivery date and stays with the product if you give it away.

## Batteries

Batteries are covered for the same period when they hold less than 80% of their original capacity, which
is more than normal wear.

## What the warranty does not cover

Accidental damage, normal wear and tear (such as worn ear cushions or soles), water damage beyond the
product's water rating, and repairs made by anyone other than us or the manufacturer.

## How to make a claim

Tell us in the chat or by email with your order number, a short description and a photo or video of the
fault. We answer within 2 working days and then repair, replace or refund the product; we pay the postage
both ways. A replacement comes with the rest of the original warranty, or 6 months, whichever is longer.
""",
    },
    {
        "title": "Size guide: clothing, shoes and bedding",
        "topic": "sizing",
        "language": "en",
        "body": """Our sizes follow US standard sizing. If you are between two sizes, choose the larger one for a
relaxed fit. Exchanges for another size are free within 30 days.

## Dresses

| size | bust (cm) | waist (cm) | hips (cm) |
|---|---|---|---|
| XS | 80-84 | 62-66 | 88-92 |
| S | 85-89 | 67-71 | 93-97 |
| M | 90-94 | 72-76 | 98-102 |
| L | 95-100 | 77-82 | 103-108 |
| XL | 101-106 | 83-88 | 109-114 |

Wrap dresses tie at the waist, so they also suit the size below. Midi dresses are fitted: measure your
hips.

## Men's jackets

Jackets run true to size, with room for a mid-layer. Chest sizes: S 88-94 cm, M 95-101 cm, L 102-108 cm,
XL 109-116 cm, XXL 117-124 cm. Rain jackets are cut longer at the back.

## Running shoes

Running shoes fit true to size in US sizes, from 6 to 13 for men and 5 to 11 for women, in half sizes. For
long runs, when feet swell, or for trail shoes with thick socks, go half a size up. Leave a thumb's width
between your longest toe and the end of the shoe.

## Bedding

- Double: for a 135 x 190 cm mattress.
- Queen: for a 150 x 200 cm mattress.
- King: for a 180 x 200 cm mattress.

Fitted sheets list their pocket depth; measure your mattress's height, including any topper.
""",
    },
    {
        "title": "Payment, prices and promo codes",
        "topic": "payment",
        "language": "en",
        "body": """Prices are in US dollars and include everything except sales tax, which is calculated at checkout
for your delivery address.

## Ways to pay

We accept Visa, Mastercard, American Express and Discover cards, PayPal, Apple Pay and Google Pay. Orders
over $100 can be paid in 4 interest-free instalments, every 2 weeks.

## When you are charged

Your card is authorised when you order and charged when the order ships. If part of your order ships
later, only that part is charged then.

## Promo codes and gift cards

One promo code can be used per order, entered at checkout; codes cannot be added after ordering. Gift cards
are valid for 3 years and can pay for all or part of an order.

## Price changes

If the price of an item drops within 7 days of your order, ask us in the chat and we refund the
difference once.

## Security

Payments are processed by our payment provider over an encrypted connection; we never see or store your
full card number.
""",
    },
    {
        "title": "Contact and customer service hours",
        "topic": "faq",
        "language": "en",
        "body": """Our assistant answers questions about products, delivery and returns at any time.

## Talking to a person

Our customer service team answers in the chat from 8 am to 8 pm (Eastern time), Monday to Friday, and
from 10 am to 4 pm on Saturdays. Questions sent outside those hours are answered the next morning.

## Orders

Order status, changes to an order and cancellations are handled by the team: ask in the chat with your
order number. An order can be changed or cancelled until it leaves the warehouse.
""",
    },
    {
        "title": "配送与退货",
        "topic": "delivery",
        "language": "zh",
        "body": """## 配送

工作日下午2点前下单当天发货。标准配送需要3到5个工作日，订单满50美元免运费，否则运费4.95美元。加急配送需要1到2个工作日，运费9.95美元。

## 退货

收货后30天内可以无理由退货，美国境内退货免运费。我们在收到退货后5个工作日内原路退款。已开封的护肤品和咖啡豆不能退货。

## 保修

电子产品保修2年，服装、鞋和床品保修1年。
""",
    },
)

# Questions shoppers ask about a product attribute, and the shop's answers: {attribute: (questions, answers)}.
# Placeholders are the product's attributes, plus `title`, `brand`, and the `*_text` forms made by
# `demo.seed.knowledge` (sizes_text, ports_text, skin_text, ph_text, persons_text).
QA_BY_ATTRIBUTE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "color": (
        ("What colour is this one?", "Which colour will I receive?"),
        ("This one is {color}.", "It is {color}, as shown in the photos."),
    ),
    "weight_g": (
        ("How heavy is it?", "How much does it weigh?", "Is it light?"),
        ("It weighs {weight_g} g.", "About {weight_g} g."),
    ),
    "sizes": (
        ("What sizes does it come in?", "Is there an XL?", "Which sizes are available?"),
        ("It comes in sizes {sizes_text}.", "Sizes {sizes_text}; see the size guide for measurements."),
    ),
    "material": (
        ("What is it made of?", "What material is it?"),
        ("It is made of {material}.", "The material is {material}."),
    ),
    "charging_w": (
        ("How fast does it charge?", "What is the maximum charging power?", "Does it support fast charging?"),
        ("It supports up to {charging_w} W.", "Yes, up to {charging_w} W."),
    ),
    "volume_ml": (
        ("How big is the bottle?", "How many ml is it?"),
        ("It holds {volume_ml} ml.", "{volume_ml} ml."),
    ),
    "fill": (
        ("What is it filled with?", "Is the filling down or synthetic?"),
        ("The filling is {fill}.", "It is filled with {fill}."),
    ),
    "driver_mm": (
        ("What size are the drivers?",),
        ("They have {driver_mm} mm drivers.",),
    ),
    "battery_hours": (
        ("How long does the battery last?", "What is the battery life?", "Will the battery last a long flight?"),
        ("Up to {battery_hours} hours on a full charge.", "The battery lasts up to {battery_hours} hours."),
    ),
    "cable_m": (
        ("How long is the cable?", "Is the cable long enough to reach from a desk to the floor?"),
        ("The cable is {cable_m} m long.", "It is {cable_m} m."),
    ),
    "finish": (
        ("Is the finish matte or glossy?", "What finish does it have?"),
        ("It has a {finish} finish.",),
    ),
    "capacity_l": (
        ("How much does it hold?", "What is the capacity?"),
        ("It holds {capacity_l} litres.", "The capacity is {capacity_l} L."),
    ),
    "thread_count": (
        ("What is the thread count?",),
        ("The thread count is {thread_count}.",),
    ),
    "size": (
        ("Which mattress size is this for?", "Will it fit a queen bed?"),
        ("This one is the {size} size; see the size guide for the mattress measurements.", "It is {size} size."),
    ),
    "hydrostatic_mm": (
        ("Is it really waterproof?", "Will it keep me dry in heavy rain?"),
        ("Yes, it is rated to a {hydrostatic_mm} mm hydrostatic head.", "It is waterproof to {hydrostatic_mm} mm."),
    ),
    "quick_charge_min": (
        ("Does it have quick charging?",),
        ("Yes, a {quick_charge_min}-minute top-up adds several hours of listening.",),
    ),
    "bluetooth": (
        ("Which Bluetooth version does it use?", "Can it connect to my phone and laptop?"),
        ("It uses Bluetooth {bluetooth}.", "It connects over Bluetooth {bluetooth}."),
    ),
    "case_hours": (
        ("How much extra battery is in the case?",),
        ("The case holds another {case_hours} hours of charge.",),
    ),
    "water_rating": (
        ("Can I wear them at the gym or in the rain?", "Are they waterproof?"),
        ("They are rated {water_rating} against sweat and rain.", "Rated {water_rating}: fine for sweat and rain."),
    ),
    "ear_tips": (
        ("Does it come with different ear tips?",),
        ("Yes, {ear_tips} sizes of silicone ear tips are included.",),
    ),
    "case_charge_min": (
        ("How long does the case take to charge?",),
        ("About {case_charge_min} minutes over USB-C.",),
    ),
    "impedance_ohm": (
        ("What is the impedance?", "Do I need a headphone amp for these?"),
        ("The impedance is {impedance_ohm} ohms.", "They are {impedance_ohm} ohm headphones."),
    ),
    "screen_in": (
        ("How big is the screen?",),
        ("The screen is {screen_in} inches.",),
    ),
    "refresh_hz": (
        ("What is the refresh rate of the screen?",),
        ("The screen refreshes at {refresh_hz} Hz.",),
    ),
    "battery_mah": (
        ("How big is the battery?",),
        ("The battery is {battery_mah} mAh.",),
    ),
    "camera_mp": (
        ("How many megapixels is the main camera?",),
        ("The main camera has {camera_mp} MP.",),
    ),
    "storage_gb": (
        ("How much storage does it have?",),
        ("This model has {storage_gb} GB of storage.",),
    ),
    "ram_gb": (
        ("How much RAM does it have?",),
        ("It has {ram_gb} GB of RAM.",),
    ),
    "update_years": (
        ("How long will it get software updates?", "How many years of updates does it get?"),
        ("The maker promises {update_years} years of software updates.",),
    ),
    "drop_m": (
        ("Will it protect my phone if I drop it?", "How protective is the case?"),
        ("It is drop-tested from {drop_m} m.", "It protects against drops from up to {drop_m} m."),
    ),
    "ports": (
        ("How many devices can I charge at once?", "How many ports does it have?"),
        ("It has {ports_text}, which share the power between devices.",),
    ),
    "bends": (
        ("Will the cable fray?", "How durable is the cable?"),
        ("It is braided and tested to {bends} bends.",),
    ),
    "thickness_mm": (
        ("How thick is the glass?",),
        ("The glass is {thickness_mm} mm thick.",),
    ),
    "pack": (
        ("How many protectors are in the pack?",),
        ("The pack has {pack} protectors.",),
    ),
    "capacity_mah": (
        ("What is the capacity of the power bank?",),
        ("It holds {capacity_mah} mAh.",),
    ),
    "pressure_bar": (
        ("How many bar is the pump?",),
        ("The pump delivers {pressure_bar} bar.",),
    ),
    "heatup_s": (
        ("How long does it take to heat up?",),
        ("It is ready in about {heatup_s} seconds.",),
    ),
    "tank_l": (
        ("How big is the water tank?",),
        ("The water tank holds {tank_l} litres.",),
    ),
    "width_cm": (
        ("How wide is it? Will it fit under my cabinets?",),
        ("It is {width_cm} cm wide.",),
    ),
    "burr_mm": (
        ("What size are the burrs?",),
        ("It has {burr_mm} mm conical burrs.",),
    ),
    "settings": (
        ("How many grind settings does it have?", "Can it grind fine enough for espresso?"),
        ("It has {settings} grind settings, from espresso to French press.",),
    ),
    "hopper_g": (
        ("How many beans does the hopper hold?",),
        ("The hopper holds {hopper_g} g of beans.",),
    ),
    "hold_min": (
        ("Does it keep the water warm?",),
        ("Yes, it holds the set temperature for up to {hold_min} minutes.",),
    ),
    "roast_level": (
        ("How dark is the roast?",),
        ("It is a {roast_level} roast.",),
    ),
    "notes": (
        ("What does it taste like?", "What are the tasting notes?"),
        ("Expect notes of {notes}.",),
    ),
    "bag_g": (
        ("How big is the bag?",),
        ("The bag holds {bag_g} g of whole beans.",),
    ),
    "ship_days": (
        ("How fresh are the beans when they arrive?",),
        ("They are roasted in small batches and shipped within {ship_days} days of roasting.",),
    ),
    "origin_type": (
        ("Is it a single origin or a blend?",),
        ("It is a {origin_type}.",),
    ),
    "material_name": (
        ("What fabric are the sheets?",),
        ("They are {material_name}.",),
    ),
    "feel": (
        ("How do the sheets feel?",),
        ("They feel {feel}.",),
    ),
    "pocket_cm": (
        ("Will the fitted sheet fit a deep mattress?", "How deep is the fitted sheet?"),
        ("The fitted sheet has {pocket_cm} cm deep pockets.",),
    ),
    "tog": (
        ("How warm is the duvet?", "Is it warm enough for winter?"),
        ("It is rated {tog} tog.",),
    ),
    "firmness": (
        ("How firm is the pillow?",),
        ("It gives {firmness} support.",),
    ),
    "sleeper": (
        ("Is it good for side sleepers?", "What sleeping position is it for?"),
        ("It is designed for {sleeper} sleepers.",),
    ),
    "layers": (
        ("How many layers does the fabric have?",),
        ("It is a {layers}-layer shell with fully taped seams.",),
    ),
    "fill_power": (
        ("What is the fill power of the down?",),
        ("The down has a fill power of {fill_power}.",),
    ),
    "weight_oz": (
        ("How heavy is the canvas?",),
        ("It is made of {weight_oz} oz cotton canvas.",),
    ),
    "stack_mm": (
        ("How much cushioning is there?",),
        ("The stack height is {stack_mm} mm.",),
    ),
    "drop_mm": (
        ("What is the heel-to-toe drop?",),
        ("The drop is {drop_mm} mm.",),
    ),
    "foam": (
        ("What foam is in the midsole?",),
        ("The midsole is {foam} foam.",),
    ),
    "lug_mm": (
        ("How deep are the lugs?", "Are they good on muddy trails?"),
        ("The outsole has {lug_mm} mm lugs.",),
    ),
    "ingredients": (
        ("What are the key ingredients?",),
        ("The key ingredients are {ingredients}.",),
    ),
    "skin": (
        ("Is it suitable for sensitive skin?", "Which skin type is it for?"),
        ("It is made for {skin_text}.",),
    ),
    "strength": (
        ("Is it strong?", "Is it suitable for beginners?"),
        ("It is a {strength} formula.",),
    ),
    "target": (
        ("What does it help with?",),
        ("It targets {target}.",),
    ),
    "ph": (
        ("What is the pH?",),
        ("{ph_text}",),
    ),
    "spf": (
        ("What SPF is it?",),
        ("It is SPF {spf}.",),
    ),
    "kind": (
        ("Is it a mineral or a chemical sunscreen?",),
        ("It is a {kind} sunscreen.",),
    ),
    "persons": (
        ("How many people does it sleep?",),
        ("It sleeps {persons_text}.",),
    ),
    "weight_kg": (
        ("How heavy is it packed?",),
        ("It weighs {weight_kg} kg packed.",),
    ),
    "comfort_c": (
        ("How cold can I use it?", "What is the temperature rating?"),
        ("Its comfort rating is {comfort_c}°C.",),
    ),
    "boil_min": (
        ("How fast does it boil water?",),
        ("It boils a litre in about {boil_min} minutes.",),
    ),
    "lumens": (
        ("How bright is it?",),
        ("It gives up to {lumens} lumens.",),
    ),
    "runtime_h": (
        ("How long does the battery last?",),
        ("Up to {runtime_h} hours on the lowest setting.",),
    ),
}

# The same in Chinese for a few numeric attributes; a few demo questions are asked in Chinese.
QA_BY_ATTRIBUTE_ZH: dict[str, tuple[str, str]] = {
    "battery_hours": ("电池能用多久？", "充满电最长可以用{battery_hours}小时。"),
    "weight_g": ("这个有多重？", "重{weight_g}克。"),
    "capacity_l": ("容量是多少？", "容量是{capacity_l}升。"),
    "volume_ml": ("这瓶有多少毫升？", "{volume_ml}毫升。"),
    "spf": ("防晒指数是多少？", "防晒指数是SPF {spf}。"),
    "storage_gb": ("存储空间有多大？", "存储空间是{storage_gb} GB。"),
    "screen_in": ("屏幕有多大？", "屏幕是{screen_in}英寸。"),
    "lumens": ("有多亮？", "最高亮度{lumens}流明。"),
    "tog": ("这床被子保暖吗？", "保暖等级是{tog} tog。"),
    "comfort_c": ("适合多冷的天气？", "舒适温度是{comfort_c}°C。"),
    "charging_w": ("充电功率是多少？", "最高{charging_w}瓦。"),
}

# Questions about the shop that shoppers ask on a product's page, by category path prefix; answers agree
# with the articles above.
QA_BY_CATEGORY: dict[str, tuple[tuple[str, str], ...]] = {
    "Electronics": (
        ("Does it come with a warranty?", "Yes, 2 years against manufacturing defects, batteries included."),
    ),
    "Home > Kitchen": (
        ("Is there a warranty?", "Yes, 2 years; espresso machines have 3 years on the pump."),
    ),
    "Home > Bedding": (
        ("Can I return it if I don't like it?",
         "Yes within 30 days, as long as it is still in its sealed packaging (pillows and duvets)."),
    ),
    "Apparel": (
        ("Can I exchange it if it doesn't fit?", "Yes, size exchanges are free within 30 days if unworn with tags."),
        ("Does it run true to size?", "It follows US standard sizing; between two sizes, choose the larger one."),
    ),
    "Sports > Running": (
        ("Should I size up?", "They fit true to size; for long runs or thick socks go half a size up."),
    ),
    "Beauty": (
        ("Can I return it once opened?", "Opened skincare cannot be returned unless it is faulty."),
    ),
    "Outdoors": (
        ("Is there a warranty?", "Yes, 2 years against manufacturing defects."),
    ),
}
