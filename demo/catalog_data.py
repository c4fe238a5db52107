"""Hand-written material for the demo shop: categories, brands, product types and review phrases.

Everything here is plain data; the `demo.seed` planners and `demo.seed.review_text` compose it with a seeded
random generator.
Review phrases are clauses ("the battery dies after a few hours of use") so that they can be dropped
into different sentence frames, and each names its aspect in words an aspect extractor can find.
Positive and negative phrasings of one aspect never contain each other, so tests can tell them apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Aspect:
    """One thing reviewers praise or complain about, with English and Chinese phrasings."""

    name: str
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    zh_name: str
    zh_positive: tuple[str, ...]
    zh_negative: tuple[str, ...]


@dataclass(frozen=True)
class Brand:
    name: str
    tier: float  # price multiplier; premium brands also start from a slightly higher quality


@dataclass(frozen=True)
class ProductType:
    """A kind of product inside a category, with everything needed to write its listing and reviews."""

    key: str
    title: str  # format string: {brand} {model} and any spec or attribute key
    models: tuple[str, ...]
    this_noun: str  # how a reviewer refers to it: "these headphones", "this kettle"
    search_noun: str  # what a shopper types: "headphones"
    price: tuple[float, float]
    intros: tuple[str, ...]
    features: tuple[str, ...]
    specs: Mapping[str, tuple[Any, ...]]  # one value each per product; stored in attributes too
    attributes: Mapping[str, tuple[str, ...]]  # one value each per product (color, material...)
    aspects: tuple[str, ...]  # names of the category's aspects that reviews of this type talk about
    wishes: tuple[str, ...]
    zh_wishes: tuple[str, ...]  # clauses, written after 希望
    searches: tuple[str, ...]
    weight: float = 1.0
    complements: tuple[tuple[str, float], ...] = ()  # (type key, probability of buying it too)
    max_quantity: int = 1
    consumable: bool = False  # bought again by loyal customers
    fixed_attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Category:
    path: str
    brands: tuple[Brand, ...]
    aspects: tuple[Aspect, ...]
    types: tuple[ProductType, ...]
    weight: float
    newsletter_subjects: tuple[str, ...]

    def aspect(self, name: str) -> Aspect:
        for aspect in self.aspects:
            if aspect.name == name:
                return aspect
        for aspect in GENERIC_ASPECTS:
            if aspect.name == name:
                return aspect
        raise KeyError(f"{self.path}: no aspect {name!r}")


def combos(prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> tuple[str, ...]:
    """Model names such as "Quiet One", "Quiet Pro", "Aria One"... in a stable order."""
    return tuple(f"{p} {s}".strip() for p in prefixes for s in suffixes)


A = Aspect

# Aspects any product can be reviewed on; reviews mention them less often than product aspects.
GENERIC_ASPECTS: tuple[Aspect, ...] = (
    A(
        "delivery",
        (
            "delivery was quick and it arrived two days after I ordered",
            "it arrived a day earlier than promised",
            "delivery was fast and the courier was friendly",
        ),
        (
            "delivery took almost two weeks",
            "the delivery was late and the tracking never updated",
            "delivery was a mess and it was left at the wrong door",
        ),
        "物流",
        ("物流很快，两天就到了", "快递比预计的还早一天到"),
        ("快递太慢了，等了两个星期", "物流信息一直不更新"),
    ),
    A(
        "packaging",
        (
            "it came well packaged with almost no plastic",
            "the packaging was sturdy and easy to recycle",
        ),
        (
            "the box arrived crushed and the packaging was flimsy",
            "the packaging was torn open when it arrived",
        ),
        "包装",
        ("包装很结实，很环保", "包装完好无损"),
        ("包装破损了，盒子都压扁了", "外包装很简陋"),
    ),
    A(
        "value for money",
        (
            "it's excellent value for money",
            "for the price, it's hard to beat",
            "it feels like a bargain for what you get",
        ),
        (
            "it's overpriced for what you get",
            "at this price I expected much better",
            "it's not worth the money",
        ),
        "性价比",
        ("性价比很高", "这个价格买到很值"),
        ("性价比太低了，不值这个价", "价格偏贵，不太值"),
    ),
)

BUILD_QUALITY = A(
    "build quality",
    (
        "the build quality feels solid and premium",
        "it feels sturdy and well made",
        "the build quality is better than I expected at this price",
    ),
    (
        "the build quality is poor and the plastic creaks",
        "it feels cheap and flimsy in the hand",
        "a part cracked within the first month, so the build quality is questionable",
    ),
    "做工",
    ("做工很扎实，质感很好", "做工精细"),
    ("做工粗糙，塑料感很强", "用了一个月就裂了，做工太差"),
)

# --- Electronics > Audio > Headphones -------------------------------------------------------------------
HEADPHONES = Category(
    path="Electronics > Audio > Headphones",
    weight=1.3,
    brands=(Brand("Sonora", 1.35), Brand("Auralis", 1.0), Brand("Kestrel Audio", 1.1), Brand("Bassline", 0.75)),
    newsletter_subjects=(
        "Hear more, carry less: headphones for every commute",
        "Quiet, please: our noise-cancelling picks",
    ),
    aspects=(
        A(
            "sound quality",
            (
                "the sound quality is rich and detailed",
                "the bass is punchy without drowning out vocals",
                "music sounds crisp and well balanced",
                "the sound quality is far better than I expected, with clear highs and warm mids",
            ),
            (
                "the sound quality is muddy, especially at higher volume",
                "the bass is boomy and drowns out everything else",
                "the treble is harsh and tiring after an hour",
                "the sound quality is flat and lifeless",
            ),
            "音质",
            ("音质很好，低音很有力", "音质清晰，人声很干净"),
            ("音质一般，声音发闷", "高音刺耳，听久了很累"),
        ),
        A(
            "noise cancellation",
            (
                "the noise cancellation blocks out train and office noise almost completely",
                "noise cancellation is excellent on flights",
                "the noise cancellation turns my open-plan office silent",
            ),
            (
                "the noise cancellation barely dampens traffic noise",
                "the noise cancellation creates an annoying pressure feeling in my ears",
                "the noise cancellation lets wind noise straight through",
            ),
            "降噪",
            ("降噪效果非常好，地铁上也很安静", "降噪很强，飞机上很好用"),
            ("降噪效果很差，几乎没感觉", "开了降噪耳朵有压迫感"),
        ),
        A(
            "battery life",
            (
                "the battery life is outstanding and I charge them once a week",
                "the battery easily lasts a long-haul flight and then some",
                "battery life matches the advertised hours",
            ),
            (
                "the battery life is nowhere near the advertised hours",
                "the battery dies after a few hours of use",
                "battery life has dropped noticeably after two months",
            ),
            "续航",
            ("续航很长，一周只充一次电", "电池续航很给力"),
            ("电池续航太短了", "续航远远达不到宣传的时间"),
        ),
        A(
            "comfort",
            (
                "they are comfortable enough to wear all day",
                "the headband clamps just right and never gives me a headache",
                "they stay comfortable even with glasses on",
            ),
            (
                "the headband clamps so hard it gives me a headache within an hour",
                "they get uncomfortable after about an hour",
                "they press painfully on my glasses",
            ),
            "佩戴舒适度",
            ("戴一整天都很舒服", "戴眼镜也不压耳朵，很舒适"),
            ("戴久了头很疼", "夹头很紧，戴着不舒服"),
        ),
        A(
            "ear cushions",
            (
                "the ear cushions are soft and breathable",
                "the memory-foam ear cushions feel premium",
            ),
            (
                "the ear cushions started peeling after two months",
                "the ear cushions get hot and sweaty very quickly",
                "the ear cushions are so shallow that my ears touch the drivers",
            ),
            "耳罩",
            ("耳罩很软很透气", "耳罩质感很好"),
            ("耳罩两个月就开始掉皮了", "耳罩很闷热，容易出汗"),
        ),
        A(
            "bluetooth connection",
            (
                "the bluetooth connection is rock solid, even across the house",
                "pairing over bluetooth with my phone and laptop is instant",
                "switching bluetooth between devices works seamlessly",
            ),
            (
                "the bluetooth connection keeps dropping out",
                "the bluetooth connection stutters whenever my phone is in my pocket",
                "bluetooth pairing fails every few days and I have to reset them",
            ),
            "蓝牙连接",
            ("蓝牙连接很稳定", "蓝牙配对很快"),
            ("蓝牙经常断连", "蓝牙连接不稳定，经常卡顿"),
        ),
        A(
            "microphone",
            (
                "the microphone is clear on calls and nobody noticed I was on a busy street",
                "call quality is great thanks to a good microphone",
            ),
            (
                "the microphone picks up every bit of background noise",
                "people say I sound muffled on calls because of the microphone",
                "the microphone is unusable for calls outdoors",
            ),
            "麦克风",
            ("通话很清晰，麦克风效果好", "麦克风降噪不错"),
            ("麦克风效果很差，对方听不清", "通话时杂音很大"),
        ),
        A(
            "fit",
            (
                "the earbuds fit snugly and stay put even when I run",
                "the fit is secure with the medium ear tips",
            ),
            (
                "the earbuds keep falling out of my ears",
                "the fit is loose no matter which ear tips I use",
                "they hurt my ears after thirty minutes because of the fit",
            ),
            "佩戴",
            ("戴着很稳，跑步也不掉", "耳塞很贴合"),
            ("耳机总是掉出来", "戴半小时耳朵就疼"),
        ),
        A(
            "charging case",
            (
                "the charging case is small enough for the coin pocket",
                "the charging case snaps shut with a satisfying magnet",
            ),
            (
                "the charging case lid feels flimsy and already wobbles",
                "the charging case scratches far too easily",
                "the earbuds don't always charge in the charging case",
            ),
            "充电盒",
            ("充电盒小巧好带", "充电盒磁吸很有质感"),
            ("充电盒盖子很松", "放进充电盒经常充不上电"),
        ),
        A(
            "cable",
            (
                "the detachable cable is thick and durable",
                "the cable is long enough to reach from my desk to the sofa",
            ),
            (
                "the cable is far too short to reach my PC under the desk",
                "the cable crackles whenever it moves",
                "the cable frayed near the plug within a few months",
            ),
            "线材",
            ("线材很结实", "线够长，用着方便"),
            ("线太短了", "线材一动就有杂音"),
        ),
        BUILD_QUALITY,
    ),
    types=(
        ProductType(
            key="over_ear_headphones",
            title="{brand} {model} Wireless Noise-Cancelling Headphones",
            models=combos(("Quiet", "Aria", "Pulse", "Drift", "Echo", "Halo"), ("One", "Pro", "Air", "Max")),
            this_noun="these headphones",
            search_noun="headphones",
            price=(79, 349),
            intros=(
                "The {brand} {model} are wireless over-ear headphones with hybrid active noise cancellation "
                "and {driver_mm} mm dynamic drivers.",
                "Built for commutes and long flights, the {brand} {model} pair {driver_mm} mm drivers with "
                "adaptive noise cancellation.",
            ),
            features=(
                "A full charge lasts up to {battery_hours} hours, and a {quick_charge_min}-minute top-up adds "
                "several more.",
                "Memory-foam ear cushions and a padded headband keep long sessions comfortable, at just "
                "{weight_g} g.",
                "Bluetooth {bluetooth} with multipoint lets them switch between laptop and phone without "
                "re-pairing.",
                "Four beamforming microphones keep your voice clear on calls.",
                "They fold flat into a travel case, and the {color} finish resists fingerprints.",
            ),
            specs={
                "driver_mm": (32, 40, 45, 50),
                "battery_hours": (24, 30, 35, 40, 50, 60),
                "quick_charge_min": (5, 10, 15),
                "weight_g": (215, 250, 265, 290, 310),
                "bluetooth": ("5.2", "5.3", "5.4"),
            },
            attributes={"color": ("Midnight Black", "Silver", "Sand", "Navy", "Forest Green")},
            aspects=(
                "sound quality", "noise cancellation", "battery life", "comfort", "ear cushions",
                "bluetooth connection", "microphone", "build quality",
            ),
            wishes=(
                "I wish they folded flat for travel.",
                "I wish the app had a proper equalizer.",
                "I wish there was a way to turn off the voice prompts.",
                "I wish they supported wireless charging.",
                "It would be perfect with a wired mode and a longer cable.",
            ),
            zh_wishes=("能折叠收纳", "APP能加一个均衡器", "能关掉语音提示"),
            searches=("wireless headphones", "noise cancelling headphones", "over ear headphones",
                      "headphones for travel", "bluetooth headphones"),
            weight=1.2,
        ),
        ProductType(
            key="earbuds",
            title="{brand} {model} True Wireless Earbuds",
            models=combos(("Pod", "Bud", "Nano", "Flow", "Spark"), ("Mini", "2", "3", "Sport", "Pro")),
            this_noun="these earbuds",
            search_noun="earbuds",
            price=(39, 229),
            intros=(
                "The {brand} {model} earbuds deliver {battery_hours} hours of playback per charge, and the "
                "pocket-size case holds another {case_hours}.",
                "Small, light and sweat-proof, the {brand} {model} are true wireless earbuds for workouts "
                "and commutes.",
            ),
            features=(
                "Rated {water_rating} against sweat and rain.",
                "{ear_tips} sizes of silicone ear tips are included to get a secure seal.",
                "Touch controls handle tracks, calls and the transparency mode.",
                "The case charges over USB-C in about {case_charge_min} minutes.",
            ),
            specs={
                "battery_hours": (6, 7, 8, 10),
                "case_hours": (24, 28, 30, 36),
                "water_rating": ("IPX4", "IPX5", "IP55"),
                "ear_tips": (3, 4),
                "case_charge_min": (60, 90, 120),
            },
            attributes={"color": ("Black", "White", "Graphite", "Sky Blue")},
            aspects=(
                "sound quality", "noise cancellation", "battery life", "fit", "charging case",
                "bluetooth connection", "microphone",
            ),
            wishes=(
                "I wish the case supported wireless charging.",
                "I wish there were volume controls on the earbuds themselves.",
                "It would be great if they came with foam tips.",
                "I wish the case had a lanyard loop.",
            ),
            zh_wishes=("充电盒支持无线充电", "耳机上能直接调音量"),
            searches=("wireless earbuds", "earbuds for running", "bluetooth earbuds", "noise cancelling earbuds"),
        ),
        ProductType(
            key="studio_headphones",
            title="{brand} {model} Wired Studio Headphones",
            models=combos(("Monitor", "Studio", "Reference"), ("50", "70", "80X", "M2")),
            this_noun="these headphones",
            search_noun="studio headphones",
            price=(49, 199),
            intros=(
                "The {brand} {model} are closed-back studio headphones with {driver_mm} mm drivers and "
                "{impedance_ohm} ohm impedance, tuned for accurate monitoring.",
            ),
            features=(
                "They ship with a detachable {cable_m} m cable and a 6.35 mm adapter.",
                "Swivelling ear cups make one-ear monitoring easy.",
                "Velour ear pads stay cool during long mixing sessions.",
                "At {weight_g} g they are light enough for all-day use.",
            ),
            specs={
                "driver_mm": (40, 45, 50),
                "impedance_ohm": (32, 38, 80, 250),
                "cable_m": (1.2, 2, 3),
                "weight_g": (240, 270, 300),
            },
            attributes={"color": ("Black", "Silver")},
            aspects=("sound quality", "comfort", "ear cushions", "cable", "build quality"),
            wishes=(
                "I wish it had a longer cable.",
                "I wish they came with a coiled cable as well.",
                "A carrying pouch would have been nice.",
            ),
            zh_wishes=("线能再长一点", "附带一个收纳袋"),
            searches=("studio headphones", "wired headphones", "monitor headphones"),
            weight=0.6,
        ),
    ),
)

# --- Electronics > Phones > Smartphones ------------------------------------------------------------------
SMARTPHONES = Category(
    path="Electronics > Phones > Smartphones",
    weight=0.8,
    brands=(Brand("Lumio", 1.3), Brand("Nexa", 1.0), Brand("Orbit", 0.8)),
    newsletter_subjects=("Time for an upgrade? This month's phones", "The phones our customers love most"),
    aspects=(
        A(
            "camera",
            (
                "the camera takes sharp, natural-looking photos even at night",
                "the main camera is fantastic for portraits",
                "the camera focuses instantly and video is smooth",
            ),
            (
                "the camera struggles in low light and photos come out grainy",
                "the camera app is slow and misses moments",
                "photos from the camera look over-processed with oversaturated colors",
            ),
            "拍照",
            ("拍照很清晰，夜景也不错", "人像拍得很好看"),
            ("拍照效果一般，夜景全是噪点", "相机打开很慢"),
        ),
        A(
            "screen",
            (
                "the screen is bright and easy to read in direct sunlight",
                "the 120 Hz screen makes scrolling buttery smooth",
            ),
            (
                "the screen is too dim outdoors",
                "the screen scratched within a week",
                "there's a noticeable green tint on the screen",
            ),
            "屏幕",
            ("屏幕很亮很清晰", "高刷屏很流畅"),
            ("屏幕在户外太暗了", "屏幕有点偏绿"),
        ),
        A(
            "performance",
            (
                "performance is snappy, even with dozens of apps open",
                "it handles games without stuttering",
            ),
            (
                "performance is sluggish and it lags when switching apps",
                "it gets hot and slows down during games",
            ),
            "流畅度",
            ("运行很流畅", "玩游戏也不卡"),
            ("经常卡顿", "玩游戏发烫还掉帧"),
        ),
        A(
            "battery life",
            (
                "the battery lasts a full day of heavy use with charge left over",
                "I get two days out of the battery with normal use",
            ),
            (
                "the battery barely lasts until the afternoon",
                "the battery drains quickly even on standby",
            ),
            "续航",
            ("续航很好，重度使用也能撑一天", "电池很耐用"),
            ("电池不耐用，下午就没电了", "待机耗电很快"),
        ),
        A(
            "charging speed",
            (
                "fast charging gets it from empty to half in about twenty minutes",
                "charging is impressively quick",
            ),
            (
                "charging is painfully slow",
                "it charges slowly with anything except the original charger",
            ),
            "充电速度",
            ("充电很快", "半小时就能充一大半"),
            ("充电太慢了", "不用原装充电器就充得很慢"),
        ),
        A(
            "software",
            (
                "the software is clean with no bloatware",
                "software updates arrive regularly",
            ),
            (
                "the software is full of preinstalled apps I can't remove",
                "notifications arrive late because the software kills background apps",
            ),
            "系统",
            ("系统很干净，没有广告", "系统更新很及时"),
            ("系统预装软件太多", "系统后台杀得太狠，消息延迟"),
        ),
        BUILD_QUALITY,
    ),
    types=(
        ProductType(
            key="smartphone",
            title="{brand} {model} 5G Smartphone, {storage_gb} GB, {color}",
            models=combos(("Nova", "Edge", "Arc", "Vista"), ("12", "12 Pro", "11 Lite", "S")),
            this_noun="this phone",
            search_noun="phone",
            price=(199, 1099),
            intros=(
                "The {brand} {model} has a {screen_in}-inch OLED display with a {refresh_hz} Hz refresh rate "
                "and a {battery_mah} mAh battery.",
                "A {screen_in}-inch phone with an all-day {battery_mah} mAh battery, the {brand} {model} "
                "balances speed and endurance.",
            ),
            features=(
                "Its {camera_mp} MP main camera has optical stabilisation for sharper night shots.",
                "{charging_w} W wired charging fills half the battery in around twenty minutes.",
                "It comes with {storage_gb} GB of storage and {ram_gb} GB of RAM.",
                "A toughened glass front and aluminium frame are rated IP67 against dust and water.",
                "It ships with {update_years} years of security updates.",
            ),
            specs={
                "screen_in": (6.1, 6.4, 6.7),
                "refresh_hz": (90, 120),
                "battery_mah": (4500, 5000, 5500),
                "camera_mp": (48, 50, 64, 108),
                "charging_w": (25, 33, 45, 67),
                "storage_gb": (128, 256, 512),
                "ram_gb": (6, 8, 12),
                "update_years": (3, 5, 7),
            },
            attributes={"color": ("Graphite", "Glacier White", "Ocean Blue", "Sage", "Rose Gold")},
            aspects=("camera", "screen", "performance", "battery life", "charging speed", "software", "build quality"),
            wishes=(
                "I wish a charger came in the box.",
                "I wish it still had a headphone jack.",
                "I wish it had expandable storage.",
                "I'd love a smaller version of this phone.",
            ),
            zh_wishes=("盒子里能附带充电器", "保留耳机孔", "支持存储卡扩展"),
            searches=("5g phone", "smartphone", "android phone", "phone with good camera", "phone 256gb"),
            complements=(("phone_case", 0.55), ("screen_protector", 0.3), ("charger", 0.3)),
        ),
    ),
)

# --- Electronics > Phones > Accessories ------------------------------------------------------------------
PHONE_ACCESSORIES = Category(
    path="Electronics > Phones > Accessories",
    weight=1.0,
    brands=(Brand("Shieldline", 1.1), Brand("VoltPeak", 1.0), Brand("Gripster", 0.8), Brand("Cableworks", 0.9)),
    newsletter_subjects=("Protect your phone, charge it faster", "Small accessories, big difference"),
    aspects=(
        A(
            "fit",
            (
                "the case fits perfectly, with precise cut-outs for the camera and ports",
                "it fits the phone like a glove",
            ),
            (
                "the case doesn't fit properly and the corners lift",
                "the camera cut-out on the case is misaligned",
                "it's so tight that getting the phone out of the case is a struggle",
            ),
            "贴合度",
            ("尺寸很贴合，开孔精准", "装上去严丝合缝"),
            ("开孔位置不准，装不严", "太紧了，手机很难取出来"),
        ),
        A(
            "drop protection",
            (
                "it survived several drops onto concrete without a scratch on the phone",
                "the raised edges protect the screen when it lands face down",
            ),
            (
                "the screen cracked on the first drop despite the case",
                "the corners offer hardly any drop protection",
            ),
            "防摔",
            ("摔了几次手机都没事", "防摔效果很好"),
            ("摔了一次屏幕就碎了", "四个角几乎没有保护"),
        ),
        A(
            "grip",
            (
                "the textured sides give a reassuring grip",
                "the grip is great and it never slides off the table",
            ),
            (
                "the case is slippery and slides off the sofa",
                "the surface is so slick it nearly slipped out of my hand twice",
            ),
            "手感",
            ("手感很好，不滑", "握着很舒服"),
            ("太滑了，拿不稳", "表面很滑，容易掉"),
        ),
        A(
            "buttons",
            (
                "the buttons are clicky and easy to press through the case",
            ),
            (
                "the buttons are stiff and hard to press",
                "the volume buttons are almost impossible to find by feel",
            ),
            "按键",
            ("按键手感清晰",),
            ("按键太硬了，很难按",),
        ),
        A(
            "charging speed",
            (
                "it charges my phone from flat to full in about an hour",
                "fast charging kicks in every time",
            ),
            (
                "it charges slower than my old charger",
                "fast charging only works with certain cables",
            ),
            "充电速度",
            ("充电很快", "快充很稳定"),
            ("充电速度很慢", "快充经常不生效"),
        ),
        A(
            "heat",
            (
                "it stays cool even when charging two devices",
            ),
            (
                "it gets worryingly hot while charging",
                "the charger heats up so much that I unplug it overnight",
            ),
            "发热",
            ("充电不怎么发热",),
            ("充电时发热很严重", "烫得不敢过夜充电"),
        ),
        A(
            "durability",
            (
                "the braided cable still looks new after months in my bag",
                "it has held up perfectly to daily use",
            ),
            (
                "the cable frayed at the connector after a few weeks",
                "it stopped working after a month",
                "the connector became loose and wobbly",
            ),
            "耐用性",
            ("用了几个月还像新的一样", "很耐用"),
            ("用了几周接口就松了", "一个月就坏了"),
        ),
        A(
            "cable length",
            (
                "the two-metre length reaches my bed from the wall socket easily",
            ),
            (
                "the cable is too short to use the phone while it charges in bed",
            ),
            "线长",
            ("线很长，躺着玩手机也够",),
            ("线太短，充电时没法用手机",),
        ),
        A(
            "installation",
            (
                "installation was easy with the alignment frame and left no bubbles",
            ),
            (
                "installation left bubbles I couldn't get out",
                "dust got trapped under it during installation",
            ),
            "贴膜",
            ("贴膜很容易，没有气泡",),
            ("贴完全是气泡", "贴的时候进灰了"),
        ),
        A(
            "clarity",
            (
                "the protector is crystal clear and you can't tell it's there",
                "clarity is perfect and touch response is unchanged",
            ),
            (
                "the protector makes the screen look hazy",
                "touches sometimes don't register through the protector",
            ),
            "透光度",
            ("透光度很好，看不出贴了膜",),
            ("贴上后屏幕发雾", "贴膜后触控不灵敏"),
        ),
        A(
            "capacity",
            (
                "the capacity is enough to charge my phone almost three times",
                "capacity is as advertised and it lasts a long weekend",
            ),
            (
                "the capacity is much lower than advertised and it barely fills my phone twice",
                "the capacity seems to shrink after a few months",
            ),
            "容量",
            ("容量很足，能充三次", "容量和宣传的一样"),
            ("容量虚标，充两次都不到", "用几个月容量就变小了"),
        ),
        A(
            "size",
            (
                "it's slim enough to carry in a jacket pocket",
            ),
            (
                "it's bulky and heavy for everyday carry",
            ),
            "体积",
            ("小巧轻便，好携带",),
            ("太重太大了，不方便带",),
        ),
    ),
    types=(
        ProductType(
            key="phone_case",
            title="{brand} {model} Protective Case for {phone}",
            models=combos(("Armor", "Slim", "Clear", "Grip"), ("Guard", "Shell", "Lite")),
            this_noun="this case",
            search_noun="phone case",
            price=(12, 49),
            intros=(
                "The {brand} {model} is a slim protective case made for the {phone}, with raised edges around "
                "the screen and camera.",
                "Made for the {phone}, the {brand} {model} case adds drop protection without the bulk.",
            ),
            features=(
                "It is tested to survive drops of {drop_m} metres.",
                "The {material} shell has a textured grip along the sides.",
                "Precise cut-outs keep the ports and camera clear, and wireless charging works through it.",
                "It weighs only {weight_g} g.",
            ),
            specs={"drop_m": (1.5, 2, 3), "weight_g": (28, 35, 42)},
            attributes={
                "color": ("Black", "Clear", "Navy", "Sage", "Lilac"),
                "material": ("TPU", "polycarbonate and TPU", "silicone"),
            },
            aspects=("fit", "drop protection", "grip", "buttons"),
            wishes=(
                "I wish it had a lanyard hole.",
                "I wish it came in more colors.",
                "I wish the case had a card slot.",
            ),
            zh_wishes=("有挂绳孔", "出更多颜色"),
            searches=("phone case", "protective phone case", "clear case", "{phone} case"),
            weight=1.5,
        ),
        ProductType(
            key="charger",
            title="{brand} {model} {charging_w}W USB-C Fast Charger",
            models=combos(("Boost", "Volt", "Nano"), ("Mini", "Duo", "GaN")),
            this_noun="this charger",
            search_noun="charger",
            price=(15, 59),
            intros=(
                "The {brand} {model} is a compact {charging_w} W USB-C charger built on GaN technology.",
            ),
            features=(
                "It fast-charges phones, earbuds and small laptops.",
                "{ports} ports share power intelligently between devices.",
                "The folding plug makes it easy to pack.",
                "Built-in temperature protection keeps it safe overnight.",
            ),
            specs={"charging_w": (20, 30, 45, 65), "ports": (1, 2, 3)},
            attributes={"color": ("White", "Black")},
            aspects=("charging speed", "heat", "durability"),
            wishes=("I wish it came with a cable.", "I wish it had one more port."),
            zh_wishes=("附带一根数据线", "多一个接口"),
            searches=("usb c charger", "fast charger", "phone charger"),
        ),
        ProductType(
            key="usb_cable",
            title="{brand} {model} Braided USB-C Cable, {cable_m} m",
            models=combos(("Flex", "Tough", "Link"), ("Cord", "Line")),
            this_noun="this cable",
            search_noun="usb c cable",
            price=(8, 25),
            intros=(
                "The {brand} {model} is a nylon-braided USB-C to USB-C cable, {cable_m} m long.",
            ),
            features=(
                "It carries up to {charging_w} W for fast charging.",
                "The connectors are tested for {bends} bends.",
                "A reusable strap keeps it tidy in a bag.",
            ),
            specs={"cable_m": (1, 2, 3), "charging_w": (60, 100, 240), "bends": ("10,000", "20,000", "30,000")},
            attributes={"color": ("Black", "Grey", "Red")},
            aspects=("durability", "cable length", "charging speed"),
            wishes=("I wish it came in a two-pack.", "I wish it had a right-angle connector."),
            zh_wishes=("出两根装", "接头做成弯头"),
            searches=("usb c cable", "long charging cable", "braided cable"),
            max_quantity=3,
        ),
        ProductType(
            key="screen_protector",
            title="{brand} {model} Tempered Glass Screen Protector for {phone}, {pack}-Pack",
            models=combos(("Clear", "Privacy", "Matte"), ("Shield", "Glass")),
            this_noun="this screen protector",
            search_noun="screen protector",
            price=(9, 29),
            intros=(
                "The {brand} {model} is a {thickness_mm} mm tempered glass screen protector cut for the {phone}.",
            ),
            features=(
                "An alignment frame makes bubble-free installation easy.",
                "The oleophobic coating resists fingerprints.",
                "It comes as a {pack}-pack, so there is a spare.",
            ),
            specs={"thickness_mm": (0.26, 0.33), "pack": (2, 3)},
            attributes={"finish": ("clear", "matte", "privacy")},
            aspects=("installation", "clarity", "durability"),
            wishes=("I wish the alignment frame were a bit sturdier.",),
            zh_wishes=("定位框能做得更结实一些",),
            searches=("screen protector", "tempered glass", "{phone} screen protector"),
        ),
        ProductType(
            key="power_bank",
            title="{brand} {model} {capacity_mah} mAh Power Bank",
            models=combos(("Volt", "Juice", "Pocket"), ("Pack", "Go", "Max")),
            this_noun="this power bank",
            search_noun="power bank",
            price=(19, 69),
            intros=(
                "The {brand} {model} packs {capacity_mah} mAh into a pocketable shell.",
            ),
            features=(
                "It charges two devices at once at up to {charging_w} W.",
                "An LED display shows the remaining charge in percent.",
                "It weighs {weight_g} g.",
            ),
            specs={"capacity_mah": (10000, 20000, 26800), "charging_w": (20, 30, 65), "weight_g": (190, 350, 480)},
            attributes={"color": ("Black", "White", "Blue")},
            aspects=("capacity", "charging speed", "size", "heat"),
            wishes=("I wish it had a built-in cable.", "I wish it supported wireless charging."),
            zh_wishes=("自带充电线", "支持无线充电"),
            searches=("power bank", "portable charger", "battery pack"),
            weight=0.8,
        ),
    ),
)

# --- Home > Kitchen > Coffee ----------------------------------------------------------------------------
COFFEE = Category(
    path="Home > Kitchen > Coffee",
    weight=1.0,
    brands=(Brand("Brewhaus", 1.3), Brand("Crema & Co", 1.1), Brand("Morning Ritual", 0.9), Brand("Kettlewood", 0.8)),
    newsletter_subjects=("Better coffee at home, starting tomorrow", "Fresh roasts and the gear to brew them"),
    aspects=(
        A(
            "taste",
            (
                "the espresso comes out rich with a thick crema",
                "shots taste balanced and sweet once dialled in",
            ),
            (
                "the espresso tastes sour no matter how I adjust the grind",
                "shots come out watery with almost no crema",
            ),
            "咖啡口感",
            ("萃取出来的咖啡很香，油脂丰富", "咖啡味道很平衡"),
            ("咖啡味道很酸，怎么调都不行", "萃取出来像水一样，没有油脂"),
        ),
        A(
            "steam wand",
            (
                "the steam wand makes silky microfoam for latte art",
                "the steam wand is powerful and froths milk in seconds",
            ),
            (
                "the steam wand is weak and takes forever to froth milk",
                "the steam wand sputters water into the milk",
            ),
            "蒸汽棒",
            ("打奶泡很细腻", "蒸汽很足"),
            ("蒸汽太弱，打不出奶泡", "蒸汽棒会喷水"),
        ),
        A(
            "ease of cleaning",
            (
                "cleaning takes a minute thanks to the removable parts",
                "it's very easy to clean",
            ),
            (
                "cleaning is a chore with lots of hard-to-reach corners",
                "coffee grounds get stuck everywhere and it's a pain to clean",
            ),
            "清洁",
            ("清洗很方便", "拆洗很简单"),
            ("很难清洗", "死角太多，清洁很麻烦"),
        ),
        A(
            "temperature",
            (
                "the temperature is stable shot after shot",
                "it holds the set temperature to the degree",
            ),
            (
                "the temperature fluctuates wildly",
                "the temperature readout is off by several degrees",
            ),
            "温度控制",
            ("温度很稳定", "控温很精准"),
            ("温度忽高忽低", "温度显示不准"),
        ),
        A(
            "water tank",
            (
                "the large water tank means I only refill it twice a week",
            ),
            (
                "the water tank is tiny and needs refilling every other day",
                "the water tank leaks onto the counter",
            ),
            "水箱",
            ("水箱容量大",),
            ("水箱太小", "水箱会漏水"),
        ),
        A(
            "noise",
            (
                "it's quiet enough not to wake the house in the morning",
            ),
            (
                "it's incredibly loud, like a jet engine at six in the morning",
                "the noise is unbearable for a kitchen appliance",
            ),
            "噪音",
            ("噪音很小",),
            ("噪音太大了", "早上用会吵醒家人"),
        ),
        A(
            "grind consistency",
            (
                "the grind is very consistent from fine espresso to coarse French press",
                "grind consistency is excellent for the price",
            ),
            (
                "the grind is inconsistent, with lots of boulders and dust",
                "grind consistency drifts and I have to readjust every day",
            ),
            "研磨均匀度",
            ("研磨很均匀", "粗细调节很精准"),
            ("磨得很不均匀，粗细差别大", "研磨度老是变"),
        ),
        A(
            "static",
            (
                "there's almost no static, so grounds don't spray everywhere",
            ),
            (
                "static makes the grounds cling to everything and spill on the counter",
            ),
            "静电",
            ("几乎没有静电",),
            ("静电很严重，粉到处飞",),
        ),
        A(
            "pour control",
            (
                "the gooseneck spout gives precise pour control for pour-over",
            ),
            (
                "the spout dribbles down the side instead of pouring in a clean stream",
            ),
            "出水控制",
            ("出水很稳，很好控制",),
            ("出水不稳，还会滴漏",),
        ),
        A(
            "heating speed",
            (
                "it boils a full kettle in under four minutes",
            ),
            (
                "heating is slow, almost eight minutes for a litre",
            ),
            "加热速度",
            ("烧水很快",),
            ("烧水太慢了",),
        ),
        A(
            "lid",
            (
                "the lid sits securely and doesn't rattle",
            ),
            (
                "the lid is fiddly and pops off when pouring",
            ),
            "盖子",
            ("盖子很紧，不会晃",),
            ("倒水时盖子会掉",),
        ),
        A(
            "flavor",
            (
                "the flavor is wonderfully fruity with notes of berries and chocolate",
                "the beans have a lovely chocolatey, nutty flavor",
            ),
            (
                "the flavor is flat and papery",
                "the coffee tastes bitter and burnt",
            ),
            "风味",
            ("风味很好，有果香和巧克力味", "口感顺滑，坚果香很浓"),
            ("味道很苦，有焦味", "风味很平淡"),
        ),
        A(
            "freshness",
            (
                "the beans arrived freshly roasted, with a roast date just days before",
            ),
            (
                "the beans arrived stale, roasted months ago",
                "the bag had no roast date and the beans tasted old",
            ),
            "新鲜度",
            ("豆子很新鲜，烘焙日期很近",),
            ("豆子不新鲜，烘焙日期是几个月前",),
        ),
        A(
            "roast",
            (
                "the roast is spot on, medium and even",
            ),
            (
                "the roast is much darker than described and the beans are oily",
            ),
            "烘焙度",
            ("烘焙度刚刚好",),
            ("烘焙太深了，跟描述不符",),
        ),
        A(
            "filter",
            (
                "the mesh filter keeps grounds out of the cup",
            ),
            (
                "the filter lets sludge into every cup",
            ),
            "滤网",
            ("滤网过滤得很干净",),
            ("滤网不行，杯底全是渣",),
        ),
        A(
            "heat retention",
            (
                "the double-walled carafe keeps coffee hot for ages",
            ),
            (
                "coffee goes lukewarm within ten minutes",
            ),
            "保温",
            ("保温效果很好",),
            ("十分钟就凉了",),
        ),
        BUILD_QUALITY,
    ),
    types=(
        ProductType(
            key="espresso_machine",
            title="{brand} {model} Espresso Machine with Steam Wand",
            models=combos(("Barista", "Crema", "Classica", "Duo"), ("Pro", "Plus", "Compact")),
            this_noun="this espresso machine",
            search_noun="espresso machine",
            price=(149, 699),
            intros=(
                "The {brand} {model} is a {pressure_bar}-bar espresso machine with a PID-controlled "
                "thermoblock that heats up in {heatup_s} seconds.",
                "Café-style espresso at home: the {brand} {model} pairs a 58 mm portafilter with a "
                "commercial-style steam wand.",
            ),
            features=(
                "The {tank_l} litre water tank lifts out from the front for easy refills.",
                "A powerful steam wand textures milk for lattes and flat whites.",
                "The removable drip tray and brew group are dishwasher safe.",
                "Its brushed {material} body is only {width_cm} cm wide, so it fits under kitchen cabinets.",
            ),
            specs={
                "pressure_bar": (9, 15, 20),
                "heatup_s": (3, 25, 45),
                "tank_l": (1.2, 1.8, 2.5),
                "width_cm": (19, 24, 30),
            },
            attributes={"material": ("stainless steel", "aluminium"), "color": ("Silver", "Black", "Cream")},
            aspects=("taste", "steam wand", "ease of cleaning", "temperature", "water tank", "noise", "build quality"),
            wishes=(
                "I wish it had a built-in grinder.",
                "I wish it came with a proper tamper instead of the plastic one.",
                "I wish the cup tray were taller for travel mugs.",
            ),
            zh_wishes=("自带磨豆功能", "附赠的压粉器能换成金属的"),
            searches=("espresso machine", "coffee machine", "espresso maker with milk frother", "latte machine"),
            complements=(("burr_grinder", 0.35), ("coffee_beans", 0.5)),
        ),
        ProductType(
            key="burr_grinder",
            title="{brand} {model} Conical Burr Coffee Grinder",
            models=combos(("Grind", "Mill", "Burr"), ("Master", "One", "Mini")),
            this_noun="this grinder",
            search_noun="coffee grinder",
            price=(59, 249),
            intros=(
                "The {brand} {model} grinds with {burr_mm} mm stainless conical burrs across {settings} settings, "
                "from espresso to cold brew.",
            ),
            features=(
                "A timer doses consistent amounts for every brew.",
                "The bean hopper holds {hopper_g} g.",
                "An anti-static chute keeps the counter clean.",
                "The burrs lift out for cleaning without tools.",
            ),
            specs={"burr_mm": (38, 40, 48), "settings": (18, 31, 40), "hopper_g": (250, 300, 450)},
            attributes={"color": ("Black", "Silver", "White")},
            aspects=("grind consistency", "noise", "static", "ease of cleaning", "build quality"),
            wishes=("I wish it had a dosing cup that fits a portafilter.", "I wish the hopper were bigger."),
            zh_wishes=("配一个能对接手柄的接粉杯", "豆仓再大一点"),
            searches=("coffee grinder", "burr grinder", "espresso grinder"),
            complements=(("coffee_beans", 0.4),),
            weight=0.8,
        ),
        ProductType(
            key="gooseneck_kettle",
            title="{brand} {model} Electric Gooseneck Kettle",
            models=combos(("Pour", "Swan", "Drip"), ("Over", "Temp", "Classic")),
            this_noun="this kettle",
            search_noun="gooseneck kettle",
            price=(39, 129),
            intros=(
                "The {brand} {model} is a {capacity_l} litre gooseneck kettle with temperature control "
                "to the degree.",
            ),
            features=(
                "It holds the set temperature for up to {hold_min} minutes.",
                "The counterbalanced handle and narrow spout make slow pour-over easy.",
                "The {color} finish is matte and fingerprint resistant.",
            ),
            specs={"capacity_l": (0.8, 0.9, 1.0), "hold_min": (30, 60)},
            attributes={"color": ("Matte Black", "Matte White", "Copper")},
            aspects=("pour control", "temperature", "heating speed", "lid", "build quality"),
            wishes=("I wish it had a built-in timer.", "I wish the base had a cable tidy."),
            zh_wishes=("自带计时器", "底座能收线"),
            searches=("gooseneck kettle", "pour over kettle", "electric kettle temperature"),
            complements=(("coffee_beans", 0.2),),
            weight=0.7,
        ),
        ProductType(
            key="coffee_beans",
            title="{brand} {model} Whole Bean Coffee, {bag_g} g",
            models=(
                "Ethiopia Yirgacheffe", "Colombia Huila", "House Espresso Blend", "Sumatra Mandheling",
                "Guatemala Antigua", "Decaf Swiss Water", "Brazil Cerrado", "Kenya AA", "Breakfast Blend",
            ),
            this_noun="this coffee",
            search_noun="coffee beans",
            price=(11, 26),
            intros=(
                "{model} from {brand} is a {roast_level} roast with notes of {notes}.",
                "Roasted to order, {brand}'s {model} brings {notes} to every cup.",
            ),
            features=(
                "It is roasted in small batches and shipped within {ship_days} days of roasting.",
                "The resealable bag has a one-way valve to keep the beans fresh.",
                "It works well for espresso, filter and French press.",
            ),
            specs={
                "roast_level": ("light", "medium", "medium-dark", "dark"),
                "notes": ("dark chocolate and hazelnut", "blueberry and jasmine", "caramel and red apple",
                          "cocoa and brown sugar", "citrus and honey"),
                "bag_g": (250, 500, 1000),
                "ship_days": (2, 3),
            },
            attributes={"origin_type": ("single origin", "blend")},
            aspects=("flavor", "freshness", "roast"),
            wishes=("I wish it came in a bigger bag.", "I wish it were available pre-ground for espresso."),
            zh_wishes=("出大包装", "提供磨好的粉"),
            searches=("coffee beans", "whole bean coffee", "espresso beans", "decaf coffee"),
            weight=1.4,
            max_quantity=3,
            consumable=True,
        ),
        ProductType(
            key="french_press",
            title="{brand} {model} French Press, {capacity_l} L",
            models=combos(("Press", "Brew", "Plunge"), ("Classic", "Thermo")),
            this_noun="this French press",
            search_noun="french press",
            price=(19, 59),
            intros=("The {brand} {model} is a {capacity_l} litre French press with a double mesh filter.",),
            features=(
                "The {material} carafe keeps coffee hot while it steeps.",
                "Everything except the lid is dishwasher safe.",
            ),
            specs={"capacity_l": (0.35, 0.8, 1.0)},
            attributes={"material": ("double-walled stainless steel", "borosilicate glass")},
            aspects=("filter", "heat retention", "ease of cleaning", "build quality"),
            wishes=("I wish it came with a spare filter.",),
            zh_wishes=("附带一个备用滤网",),
            searches=("french press", "cafetiere", "coffee press"),
            complements=(("coffee_beans", 0.3),),
            weight=0.6,
        ),
    ),
)

# --- Home > Bedding -----------------------------------------------------------------------------------
BEDDING = Category(
    path="Home > Bedding",
    weight=0.8,
    brands=(Brand("Linnea Home", 1.25), Brand("Cloudnest", 1.0), Brand("Fernweave", 0.85)),
    newsletter_subjects=("Sleep better tonight: new bedding", "Softer sheets, cooler nights"),
    aspects=(
        A(
            "softness",
            (
                "the sheets are buttery soft and get softer with every wash",
                "it feels incredibly soft against the skin",
            ),
            (
                "the fabric feels scratchy and stiff",
                "it's rougher than my cheap old set, nowhere near soft",
            ),
            "柔软度",
            ("非常柔软，很亲肤", "越洗越软"),
            ("摸起来很粗糙", "面料很硬，不舒服"),
        ),
        A(
            "breathability",
            (
                "I sleep cool all night, even in summer, because it's so breathable",
                "it's very breathable and I no longer wake up sweaty",
            ),
            (
                "I wake up hot and sweaty every night",
                "it traps heat and isn't breathable at all",
            ),
            "透气性",
            ("很透气，夏天也不热", "透气性很好"),
            ("不透气，晚上很闷热", "睡一晚全是汗"),
        ),
        A(
            "fit",
            (
                "the fitted sheet's deep pockets fit my thick mattress perfectly",
                "the fitted sheet stays put all night",
            ),
            (
                "the fitted sheet keeps slipping off the corners of the mattress",
                "the fitted sheet is too shallow for a standard mattress",
            ),
            "尺寸",
            ("床笠尺寸很合适", "床笠很服帖，不会跑"),
            ("床笠太浅，总是滑下来", "尺寸偏小，套不上"),
        ),
        A(
            "pilling",
            (
                "there's no pilling even after months of use",
            ),
            (
                "the fabric started pilling after just a few washes",
                "pilling appeared within a month",
            ),
            "起球",
            ("用了几个月也不起球",),
            ("洗几次就起球了",),
        ),
        A(
            "washing",
            (
                "it washes beautifully and comes out of the dryer without wrinkles",
                "it keeps its shape and color after many washes",
            ),
            (
                "it shrank noticeably after the first wash",
                "the color faded after a couple of washes",
            ),
            "洗后效果",
            ("洗了也不变形", "洗了很多次都不褪色"),
            ("洗一次就缩水了", "洗两次就褪色了"),
        ),
        A(
            "color",
            (
                "the color is exactly like the photos, a lovely soft shade",
            ),
            (
                "the color is much darker than in the photos",
            ),
            "颜色",
            ("颜色和图片一样好看",),
            ("颜色和图片差很多",),
        ),
        A(
            "warmth",
            (
                "it's warm and cozy without feeling heavy",
            ),
            (
                "it's not warm enough for winter despite the tog rating",
            ),
            "保暖",
            ("很暖和又很轻",),
            ("不够暖和",),
        ),
        A(
            "filling",
            (
                "the filling stays evenly spread thanks to the box stitching",
            ),
            (
                "the filling clumps in the corners after a wash",
                "feathers from the filling poke through the fabric",
            ),
            "填充物",
            ("填充物分布均匀",),
            ("洗完填充物都结块了", "羽毛会钻出来"),
        ),
        A(
            "smell",
            (
                "there was no chemical smell straight out of the packaging",
            ),
            (
                "it had a strong chemical smell that took a week to go away",
            ),
            "气味",
            ("没有异味",),
            ("有很大的异味，散了一个星期",),
        ),
        A(
            "support",
            (
                "the pillow supports my neck perfectly and my morning stiffness is gone",
                "it keeps its support night after night",
            ),
            (
                "the pillow went flat within a few weeks",
                "it's far too firm and gives me a stiff neck",
            ),
            "支撑性",
            ("支撑性很好，颈椎舒服多了", "不会塌"),
            ("用几周就塌了", "太硬了，睡得脖子疼"),
        ),
    ),
    types=(
        ProductType(
            key="sheet_set",
            title="{brand} {model} {material_name} Sheet Set",
            models=("Everyday", "Hotel", "Haven", "Coastal", "Meadow", "Nordic", "Signature"),
            this_noun="these sheets",
            search_noun="sheets",
            price=(39, 179),
            intros=(
                "The {brand} {model} sheet set is woven from {thread_count}-thread-count {material_name} for a "
                "{feel} feel.",
            ),
            features=(
                "The fitted sheet has {pocket_cm} cm deep pockets with elastic all round.",
                "The set includes a flat sheet, a fitted sheet and two pillowcases.",
                "It is OEKO-TEX certified and pre-washed for softness.",
                "Machine wash warm and tumble dry low.",
            ),
            specs={
                "thread_count": (300, 400, 600),
                "material_name": ("Cotton Percale", "Cotton Sateen", "Linen", "Bamboo Lyocell"),
                "feel": ("crisp, cool", "silky smooth", "relaxed, lived-in"),
                "pocket_cm": (35, 40, 45),
            },
            attributes={
                "color": ("White", "Sage", "Oat", "Dusty Blue", "Charcoal"),
                "size": ("Double", "Queen", "King"),
            },
            aspects=("softness", "breathability", "fit", "pilling", "washing", "color"),
            wishes=("I wish the pillowcases had envelope closures.", "I wish it came with four pillowcases."),
            zh_wishes=("枕套能做成信封式的", "多配两个枕套"),
            searches=("bed sheets", "cotton sheets", "linen sheets", "cooling sheets", "queen sheet set"),
            complements=(("pillow", 0.25),),
            weight=1.4,
        ),
        ProductType(
            key="duvet",
            title="{brand} {model} {fill} Duvet, {tog} Tog",
            models=("Cloud", "Alpine", "Featherlight", "All Seasons", "Snug"),
            this_noun="this duvet",
            search_noun="duvet",
            price=(59, 299),
            intros=("The {brand} {model} duvet is filled with {fill_lower} and rated {tog} tog.",),
            features=(
                "Box stitching keeps the filling evenly spread.",
                "The cover is {thread_count}-thread-count cotton.",
                "Corner loops hold it in place inside the duvet cover.",
            ),
            specs={
                "fill": ("Hollowfibre", "Duck Down", "Wool"),
                "fill_lower": ("soft hollowfibre", "duck down and feather", "breathable British wool"),
                "tog": (4.5, 10.5, 13.5),
                "thread_count": (233, 300),
            },
            attributes={"size": ("Double", "King", "Super King")},
            aspects=("warmth", "breathability", "filling", "smell", "washing"),
            wishes=("I wish it had press studs to join two togs.", "I wish it came with a storage bag."),
            zh_wishes=("能做成子母被", "附带收纳袋"),
            searches=("duvet", "winter duvet", "down duvet", "all season duvet"),
            complements=(("sheet_set", 0.3),),
        ),
        ProductType(
            key="pillow",
            title="{brand} {model} {fill} Pillow",
            models=("Contour", "Cloud", "Side Sleeper", "Classic"),
            this_noun="this pillow",
            search_noun="pillow",
            price=(29, 99),
            intros=("The {brand} {model} pillow is filled with {fill_lower} for {firmness} support.",),
            features=(
                "The removable cover is washable at 40 degrees.",
                "It suits {sleeper} sleepers.",
            ),
            specs={
                "fill": ("Memory Foam", "Down Alternative", "Latex"),
                "fill_lower": ("shredded memory foam", "down-alternative microfibre", "natural latex"),
                "firmness": ("medium", "medium-firm", "firm"),
                "sleeper": ("side", "back", "side and back"),
            },
            attributes={},
            aspects=("support", "softness", "smell", "breathability"),
            wishes=("I wish the filling were adjustable.", "I wish it came as a pair."),
            zh_wishes=("能调节填充物的多少", "两个一起卖"),
            searches=("pillow", "memory foam pillow", "pillow for neck pain"),
            max_quantity=2,
        ),
    ),
)

# --- Apparel > Women > Dresses ------------------------------------------------------------------------
DRESSES = Category(
    path="Apparel > Women > Dresses",
    weight=0.9,
    brands=(Brand("Marlowe", 1.3), Brand("Juniper Lane", 1.0), Brand("Vela Studio", 0.85)),
    newsletter_subjects=("New dresses for every plan this month", "The dress edit: five new favourites"),
    aspects=(
        A(
            "fit",
            (
                "the fit is flattering and nips in at the waist",
                "it fits beautifully through the shoulders",
            ),
            (
                "the fit is boxy and shapeless",
                "it's too tight across the bust",
                "the waist sits in an odd place and the fit is unflattering",
            ),
            "版型",
            ("版型很好，很显瘦", "腰线收得很好看"),
            ("版型不好，很显胖", "胸围太紧了"),
        ),
        A(
            "fabric",
            (
                "the fabric is soft, drapes nicely and isn't see-through",
                "the fabric feels more expensive than the price",
            ),
            (
                "the fabric is thin and see-through",
                "the fabric feels cheap and synthetic",
            ),
            "面料",
            ("面料很舒服，垂感好", "面料质感很高级"),
            ("面料很薄，透光", "面料很廉价"),
        ),
        A(
            "sizing",
            (
                "sizing is true to size and I ordered my usual",
            ),
            (
                "sizing runs at least one size small",
                "it runs large and I had to exchange it for a smaller size",
            ),
            "尺码",
            ("尺码很标准",),
            ("尺码偏小，建议买大一号", "尺码偏大"),
        ),
        A(
            "length",
            (
                "the length hits just below the knee, perfect for work",
                "the length is perfect even in flats",
            ),
            (
                "it's much shorter than pictured on the model",
                "the length is awkward and lands mid-calf on me",
            ),
            "长度",
            ("长度刚刚好",),
            ("比图片上短很多", "长度很尴尬"),
        ),
        A(
            "zipper",
            (
                "the concealed zipper glides smoothly",
            ),
            (
                "the zipper broke the second time I wore it",
                "the zipper keeps snagging on the fabric",
            ),
            "拉链",
            ("拉链很顺滑",),
            ("拉链很容易卡住", "穿第二次拉链就坏了"),
        ),
        A(
            "color",
            (
                "the color is vibrant and true to the photos",
            ),
            (
                "the color looked completely different in person",
                "the color bled in the first wash",
            ),
            "颜色",
            ("颜色和图片一样，很正",),
            ("实物颜色和图片差很多", "第一次洗就掉色"),
        ),
        A(
            "stitching",
            (
                "the stitching is neat and the seams are finished well",
            ),
            (
                "there are loose threads everywhere and the stitching on the hem came undone after one wash",
            ),
            "做工",
            ("做工精细，走线很整齐",),
            ("线头很多，做工粗糙",),
        ),
        A(
            "pockets",
            (
                "it has real, deep pockets, which I love",
            ),
            (
                "the pockets are so shallow that my phone falls out",
            ),
            "口袋",
            ("有口袋，很实用",),
            ("口袋太浅了",),
        ),
        A(
            "wrinkles",
            (
                "it comes out of a suitcase without wrinkles",
            ),
            (
                "it wrinkles the moment you sit down",
            ),
            "抗皱",
            ("不容易皱",),
            ("特别容易皱",),
        ),
    ),
    types=(
        ProductType(
            key="wrap_dress",
            title="{brand} {model} Wrap Dress",
            models=("Elodie", "Harper", "Sienna", "Margot", "Ines", "Clara"),
            this_noun="this dress",
            search_noun="wrap dress",
            price=(39, 149),
            intros=("The {brand} {model} is a {material} wrap dress with a V-neck and a self-tie waist.",),
            features=(
                "Flutter sleeves and a midi length make it easy to wear from desk to dinner.",
                "The {material} is soft and has a little stretch.",
                "Machine washable at 30 degrees.",
                "Our model is 5'9\" and wears a size S.",
            ),
            specs={},
            attributes={"color": ("Black", "Emerald", "Terracotta", "Navy Floral", "Blush"),
                        "material": ("viscose crepe", "jersey", "recycled satin")},
            aspects=("fit", "fabric", "sizing", "length", "color", "wrinkles"),
            wishes=("I wish it had pockets.", "I wish it came in a petite length.", "I'd love this in more colors."),
            zh_wishes=("能加上口袋", "出小个子的长度"),
            searches=("wrap dress", "midi wrap dress", "work dress", "summer dress"),
            fixed_attributes={"sizes": ["XS", "S", "M", "L", "XL"]},
        ),
        ProductType(
            key="midi_dress",
            title="{brand} {model} Midi Dress",
            models=("Aurelia", "Rosa", "Juniper", "Odette", "Lena", "Noor"),
            this_noun="this dress",
            search_noun="midi dress",
            price=(49, 169),
            intros=("The {brand} {model} is a fitted midi dress in {material} with a concealed back zip.",),
            features=(
                "Darts at the bust and a fitted waist give it a tailored shape.",
                "It is fully lined.",
                "Dry clean or hand wash cold.",
            ),
            specs={},
            attributes={"color": ("Black", "Cobalt", "Ivory", "Burgundy"),
                        "material": ("stretch cotton", "crepe", "linen blend")},
            aspects=("fit", "fabric", "sizing", "length", "zipper", "color", "stitching"),
            wishes=("I wish it had pockets.", "I wish the lining were breathable cotton."),
            zh_wishes=("能加上口袋", "里衬换成棉的"),
            searches=("midi dress", "fitted dress", "wedding guest dress", "black midi dress"),
            fixed_attributes={"sizes": ["XS", "S", "M", "L", "XL"]},
        ),
        ProductType(
            key="shirt_dress",
            title="{brand} {model} Shirt Dress",
            models=("Weekend", "Oxford", "Riviera", "Cleo", "Marina"),
            this_noun="this dress",
            search_noun="shirt dress",
            price=(45, 129),
            intros=("The {brand} {model} is a relaxed shirt dress in {material} with a button front and a belt.",),
            features=(
                "It has two patch pockets and roll-up sleeves.",
                "The {material} gets softer with every wash.",
            ),
            specs={},
            attributes={"color": ("White", "Blue Stripe", "Khaki", "Sage"),
                        "material": ("cotton poplin", "linen", "chambray")},
            aspects=("fit", "fabric", "sizing", "pockets", "wrinkles", "stitching"),
            wishes=("I wish the belt were attached with loops.", "I wish it came in a longer length."),
            zh_wishes=("腰带能固定住", "出长一点的款"),
            searches=("shirt dress", "linen dress", "casual dress"),
            fixed_attributes={"sizes": ["XS", "S", "M", "L", "XL"]},
        ),
    ),
)

# --- Apparel > Men > Jackets --------------------------------------------------------------------------
JACKETS = Category(
    path="Apparel > Men > Jackets",
    weight=0.8,
    brands=(Brand("Northfold", 1.3), Brand("Harbor & Pine", 1.0), Brand("Ridgeway", 0.85)),
    newsletter_subjects=("Ready for the weather: new jackets", "Layer up: jackets built to last"),
    aspects=(
        A(
            "warmth",
            (
                "it's surprisingly warm on freezing mornings",
                "it keeps me warm without a thick sweater underneath",
            ),
            (
                "it isn't warm enough below freezing",
                "the wind cuts straight through it, so warmth is poor",
            ),
            "保暖",
            ("很保暖，冬天穿也不冷", "很暖和"),
            ("不够保暖", "风一吹就透"),
        ),
        A(
            "waterproofing",
            (
                "it kept me completely dry through a two-hour downpour",
                "the waterproofing is excellent and rain just beads off",
            ),
            (
                "it soaks through at the shoulders after twenty minutes of rain",
                "the seams leak in steady rain, so the waterproofing is a letdown",
            ),
            "防水",
            ("下大雨也完全不湿", "防水效果很好"),
            ("防水效果差，肩膀会渗水", "下雨会漏水"),
        ),
        A(
            "zipper",
            (
                "the zipper runs smoothly with one hand",
                "the two-way zipper is handy when sitting down",
            ),
            (
                "the zipper snags constantly",
                "the zipper pull broke off within a month",
                "the zipper splits open from the bottom",
            ),
            "拉链",
            ("拉链很顺滑", "双向拉链很方便"),
            ("拉链老是卡住", "拉链头一个月就断了"),
        ),
        A(
            "fit",
            (
                "the fit is trim without being tight, with room for a sweater underneath",
                "it fits well across the shoulders",
            ),
            (
                "the fit is boxy and the body is far too wide",
                "it's tight across the shoulders",
            ),
            "版型",
            ("版型很好，里面还能穿毛衣", "肩宽很合适"),
            ("版型太宽大了", "肩膀太紧"),
        ),
        A(
            "sleeves",
            (
                "the sleeves are long enough even for my long arms",
            ),
            (
                "the sleeves are too short and ride up when I reach",
            ),
            "袖长",
            ("袖长刚好",),
            ("袖子太短了",),
        ),
        A(
            "pockets",
            (
                "there are plenty of pockets, including a zipped inner one for my phone",
            ),
            (
                "the pockets are too small for a phone",
                "the pockets are placed so high they are awkward to use",
            ),
            "口袋",
            ("口袋很多，很实用",),
            ("口袋太小，放不下手机",),
        ),
        A(
            "hood",
            (
                "the hood adjusts well and stays put in the wind",
            ),
            (
                "the hood blows off in the slightest wind and blocks my vision",
            ),
            "帽子",
            ("帽子可以调节，刮风也不掉",),
            ("帽子一刮风就掉，还挡视线",),
        ),
        A(
            "breathability",
            (
                "it breathes well on brisk walks",
            ),
            (
                "I get clammy inside it after walking for ten minutes, it doesn't breathe",
            ),
            "透气",
            ("很透气，走路不闷",),
            ("不透气，走一会儿就闷出汗",),
        ),
        A(
            "stitching",
            (
                "the stitching is solid and the canvas feels built to last",
            ),
            (
                "a seam came apart under the arm after two weeks, so the stitching is weak",
            ),
            "做工",
            ("做工扎实，走线整齐",),
            ("腋下开线了，做工很差",),
        ),
    ),
    types=(
        ProductType(
            key="rain_jacket",
            title="{brand} {model} Waterproof Rain Jacket",
            models=("Stormline", "Coastal", "Drizzle", "Harbor", "Tidewater", "Squall"),
            this_noun="this jacket",
            search_noun="rain jacket",
            price=(69, 279),
            intros=(
                "The {brand} {model} is a {layers}-layer waterproof shell rated to {hydrostatic_mm} mm, with "
                "fully taped seams.",
            ),
            features=(
                "An adjustable hood with a stiffened peak keeps rain off your face.",
                "Pit zips let heat out on the climbs.",
                "It packs into its own chest pocket.",
                "It weighs {weight_g} g.",
            ),
            specs={
                "layers": ("2", "2.5", "3"),
                "hydrostatic_mm": ("10,000", "15,000", "20,000"),
                "weight_g": (280, 360, 450),
            },
            attributes={"color": ("Black", "Olive", "Navy", "Rust")},
            aspects=("waterproofing", "zipper", "hood", "breathability", "fit", "pockets"),
            wishes=("I wish the hood were detachable.", "I wish it had pit zips for ventilation.",
                    "I wish it came in tall sizes."),
            zh_wishes=("帽子可以拆卸", "出加长款"),
            searches=("rain jacket", "waterproof jacket men", "lightweight rain jacket", "hiking jacket"),
            fixed_attributes={"sizes": ["S", "M", "L", "XL", "XXL"]},
        ),
        ProductType(
            key="puffer_jacket",
            title="{brand} {model} Insulated Puffer Jacket",
            models=("Summit", "Glacier", "Boreal", "Loft", "Tundra"),
            this_noun="this jacket",
            search_noun="puffer jacket",
            price=(89, 329),
            intros=("The {brand} {model} is a {fill_power} fill-power insulated jacket that packs down small.",),
            features=(
                "A water-repellent shell sheds light snow and drizzle.",
                "Elastic cuffs and a drawcord hem seal in warmth.",
                "Two zipped hand pockets and an inner chest pocket.",
            ),
            specs={"fill_power": ("600", "700", "800")},
            attributes={"color": ("Black", "Navy", "Forest", "Orange")},
            aspects=("warmth", "zipper", "fit", "sleeves", "pockets", "hood"),
            wishes=("I wish it had an inside pocket big enough for gloves.", "I wish it came in a longer cut."),
            zh_wishes=("内兜再大一点", "出长款"),
            searches=("puffer jacket", "down jacket men", "winter jacket", "warm jacket"),
            fixed_attributes={"sizes": ["S", "M", "L", "XL", "XXL"]},
        ),
        ProductType(
            key="chore_jacket",
            title="{brand} {model} Canvas Chore Jacket",
            models=("Workshop", "Foundry", "Field", "Mason"),
            this_noun="this jacket",
            search_noun="chore jacket",
            price=(59, 189),
            intros=(
                "The {brand} {model} is a {weight_oz} oz organic cotton canvas chore jacket with four patch pockets.",
            ),
            features=(
                "Corozo buttons and triple-stitched seams are made for years of wear.",
                "It softens and fades with age.",
            ),
            specs={"weight_oz": (10, 12, 14)},
            attributes={"color": ("Ecru", "Navy", "Brown", "Olive")},
            aspects=("fit", "stitching", "pockets", "sleeves", "warmth"),
            wishes=("I wish it had an inside pocket.",),
            zh_wishes=("加一个内袋",),
            searches=("chore jacket", "canvas jacket", "work jacket"),
            fixed_attributes={"sizes": ["S", "M", "L", "XL"]},
            weight=0.7,
        ),
    ),
)

# --- Sports > Running > Shoes -------------------------------------------------------------------------
RUNNING_SHOES = Category(
    path="Sports > Running > Shoes",
    weight=1.0,
    brands=(Brand("Stride Lab", 1.25), Brand("Tempo Athletics", 1.0), Brand("Peakform", 0.9)),
    newsletter_subjects=("Your next personal best starts here", "New running shoes, tested by our team"),
    aspects=(
        A(
            "cushioning",
            (
                "the cushioning is soft but still springy on long runs",
                "my knees feel fresh even after a half marathon thanks to the cushioning",
            ),
            (
                "the cushioning feels flat after just 100 miles",
                "the cushioning is too firm for anything over 5k",
            ),
            "缓震",
            ("缓震很好，跑长距离膝盖也不累", "脚感软弹"),
            ("缓震太硬", "跑了一百多公里缓震就没了"),
        ),
        A(
            "fit",
            (
                "the fit is secure through the midfoot with room for the toes",
                "they fit like a sock",
            ),
            (
                "the toe box is too narrow and my little toes hurt",
                "the fit is sloppy and my foot slides around",
            ),
            "包裹性",
            ("包裹性很好", "脚感很贴合"),
            ("鞋头太窄，挤脚", "包裹性差，脚在里面晃"),
        ),
        A(
            "sizing",
            (
                "they are true to size",
            ),
            (
                "they run half a size small",
                "they run large and I had to go down a size",
            ),
            "尺码",
            ("尺码很准",),
            ("尺码偏小半码", "尺码偏大"),
        ),
        A(
            "grip",
            (
                "the grip is excellent on wet pavement",
                "the lugs grip muddy trails confidently",
            ),
            (
                "the outsole is slippery on wet roads",
                "the grip is poor on loose gravel",
            ),
            "抓地力",
            ("抓地力很强，雨天也不滑", "越野路面抓地很好"),
            ("抓地力差，湿地很滑", "碎石路上很容易打滑"),
        ),
        A(
            "durability",
            (
                "after 300 miles the outsole shows barely any wear",
                "they still look new after months of training",
            ),
            (
                "the upper tore near the toe after a month",
                "the outsole wore through in under 200 miles",
            ),
            "耐用性",
            ("跑了几百公里还很好", "很耐磨"),
            ("一个月鞋面就破了", "鞋底磨得太快"),
        ),
        A(
            "breathability",
            (
                "the mesh upper keeps my feet cool in summer",
            ),
            (
                "my feet get hot and sweaty because the upper doesn't breathe",
            ),
            "透气",
            ("鞋面很透气",),
            ("不透气，脚很热",),
        ),
        A(
            "weight",
            (
                "they are light enough for tempo runs",
            ),
            (
                "they feel heavy and clunky",
            ),
            "重量",
            ("很轻",),
            ("太重了",),
        ),
        A(
            "heel",
            (
                "the heel locks in with no slipping",
            ),
            (
                "my heel slips out with every step and gives me blisters",
            ),
            "后跟",
            ("后跟很稳，不掉跟",),
            ("掉跟，磨脚起泡",),
        ),
        A(
            "laces",
            (
                "the laces stay tied for the whole run",
            ),
            (
                "the laces come undone constantly",
            ),
            "鞋带",
            ("鞋带不会松",),
            ("鞋带老是松开",),
        ),
    ),
    types=(
        ProductType(
            key="road_running_shoes",
            title="{brand} {model} Road Running Shoes",
            models=combos(("Glide", "Tempo", "Swift", "Cloudrun", "Pace"), ("3", "4", "5", "Elite")),
            this_noun="these shoes",
            search_noun="running shoes",
            price=(79, 199),
            intros=(
                "The {brand} {model} is a neutral daily trainer with a {stack_mm} mm stack and a {drop_mm} mm drop.",
                "Built for easy miles and long runs, the {brand} {model} combines a {foam} midsole with a "
                "breathable engineered mesh upper.",
            ),
            features=(
                "It weighs {weight_g} g in a men's US 9.",
                "A {foam} midsole returns energy with every stride.",
                "A rubber outsole covers the high-wear zones.",
                "Reflective details help you stay visible at dusk.",
            ),
            specs={"stack_mm": (32, 35, 38), "drop_mm": (4, 6, 8, 10), "weight_g": (220, 245, 270, 290),
                   "foam": ("nitrogen-infused", "supercritical", "EVA blend")},
            attributes={"color": ("Black/White", "Volt", "Ocean", "Grey/Coral")},
            aspects=("cushioning", "fit", "sizing", "grip", "durability", "breathability", "weight", "heel", "laces"),
            wishes=("I wish they came in wide sizes.", "I wish the laces were a bit longer.",
                    "I'd love a version with more reflective details for night runs."),
            zh_wishes=("出宽楦版本", "加点反光条"),
            searches=("running shoes", "road running shoes", "marathon shoes", "cushioned running shoes",
                      "running shoes women", "running shoes men"),
            weight=1.4,
            fixed_attributes={"sizes": ["US 6", "US 7", "US 8", "US 9", "US 10", "US 11", "US 12"]},
        ),
        ProductType(
            key="trail_running_shoes",
            title="{brand} {model} Trail Running Shoes",
            models=combos(("Trailhawk", "Ridge", "Summit", "Rocky"), ("2", "3", "GTX")),
            this_noun="these shoes",
            search_noun="trail running shoes",
            price=(89, 209),
            intros=(
                "The {brand} {model} is a trail shoe with {lug_mm} mm lugs and a rock plate for technical terrain.",
            ),
            features=(
                "A gusseted tongue keeps debris out.",
                "It weighs {weight_g} g.",
                "A sticky rubber compound grips on wet rock.",
            ),
            specs={"lug_mm": (3.5, 4, 5), "weight_g": (270, 300, 320)},
            attributes={"color": ("Black/Orange", "Moss", "Slate")},
            aspects=("grip", "cushioning", "fit", "durability", "heel", "weight"),
            wishes=("I wish they had a gaiter attachment.", "I wish they came in wide sizes."),
            zh_wishes=("能装鞋套", "出宽楦版本"),
            searches=("trail running shoes", "trail shoes", "waterproof running shoes"),
            fixed_attributes={"sizes": ["US 7", "US 8", "US 9", "US 10", "US 11", "US 12"]},
        ),
    ),
)

# --- Beauty > Skincare -------------------------------------------------------------------------------
SKINCARE = Category(
    path="Beauty > Skincare",
    weight=1.0,
    brands=(Brand("Dewpoint", 1.2), Brand("Botanica Lab", 1.0), Brand("Lumiere Skin", 1.3), Brand("Sora", 0.8)),
    newsletter_subjects=("Your skincare routine, simplified", "Glow season: our bestselling skincare"),
    aspects=(
        A(
            "texture",
            (
                "the texture is light and silky",
                "the texture is lovely, like a whipped cream",
            ),
            (
                "the texture is thick and sticky",
                "the texture is gloopy and hard to spread",
            ),
            "质地",
            ("质地很清爽", "质地轻薄好推开"),
            ("质地很黏", "太厚重了，不好推开"),
        ),
        A(
            "scent",
            (
                "the scent is subtle and fresh",
                "it's unscented, which my sensitive skin loves",
            ),
            (
                "the scent is overpowering and lingers for hours",
                "it has a strong alcohol scent",
            ),
            "气味",
            ("味道很淡很清新", "无香味，敏感肌很友好"),
            ("香味太浓了", "酒精味很重"),
        ),
        A(
            "absorption",
            (
                "it absorbs quickly and works well under makeup",
            ),
            (
                "it leaves a greasy film that never fully absorbs",
                "it pills under makeup instead of absorbing",
            ),
            "吸收",
            ("吸收很快，不油腻",),
            ("很油腻，吸收不了", "上妆会搓泥"),
        ),
        A(
            "hydration",
            (
                "my skin stays hydrated all day",
                "it leaves my skin hydrated and plump",
            ),
            (
                "my skin feels tight and dry by lunchtime",
                "it strips my skin and leaves it dry",
            ),
            "保湿",
            ("保湿效果很好", "用完皮肤水水的"),
            ("保湿不够，下午就干了", "洗完脸很紧绷"),
        ),
        A(
            "results",
            (
                "after a month my dark spots have visibly faded",
                "my skin looks brighter and more even",
            ),
            (
                "I saw no results after six weeks",
                "it did nothing for my dull skin",
            ),
            "效果",
            ("用了一个月皮肤明显变亮了", "痘印淡了很多"),
            ("用了一个多月没什么效果", "完全没看到效果"),
        ),
        A(
            "irritation",
            (
                "it's gentle on my sensitive skin, with no redness at all",
            ),
            (
                "it made my skin red and itchy",
                "it caused breakouts along my jawline",
            ),
            "刺激性",
            ("很温和，不刺激",),
            ("用了脸发红发痒", "用了以后爆痘"),
        ),
        A(
            "bottle",
            (
                "the airless bottle dispenses just the right amount",
            ),
            (
                "the pump on the bottle stopped working halfway through",
                "the bottle's dropper leaks all over the shelf",
            ),
            "瓶子",
            ("按压泵很好用",),
            ("按压泵用到一半就坏了", "滴管会漏"),
        ),
        A(
            "white cast",
            (
                "it leaves no white cast, even on my darker skin",
            ),
            (
                "it leaves a heavy white cast",
            ),
            "泛白",
            ("完全不泛白",),
            ("泛白很严重",),
        ),
    ),
    types=(
        ProductType(
            key="moisturizer",
            title="{brand} {model} Moisturizer, {volume_ml} ml",
            models=("Barrier Repair", "Hydra Cloud", "Daily Comfort", "Ceramide Rich", "Water Gel"),
            this_noun="this moisturizer",
            search_noun="moisturizer",
            price=(14, 58),
            intros=("{brand} {model} is a {finish} moisturizer with {ingredients} for {skin} skin.",),
            features=(
                "It is fragrance-free and dermatologist tested.",
                "Apply morning and evening after cleansing.",
                "The {volume_ml} ml airless pump keeps the formula fresh.",
            ),
            specs={
                "finish": ("lightweight gel", "rich cream", "soft matte"),
                "ingredients": (
                    "ceramides and squalane", "hyaluronic acid and niacinamide", "oat extract and panthenol",
                ),
                "skin": ("dry", "combination", "sensitive", "all"),
                "volume_ml": (50, 75, 100),
            },
            attributes={},
            aspects=("texture", "scent", "absorption", "hydration", "irritation", "bottle"),
            wishes=("I wish it came in a bigger bottle.", "I'd love a refill pouch option."),
            zh_wishes=("出大瓶装", "出替换装"),
            searches=("moisturizer", "face cream", "moisturizer for dry skin", "fragrance free moisturizer"),
            max_quantity=2,
            consumable=True,
            weight=1.3,
            complements=(("serum", 0.2),),
        ),
        ProductType(
            key="serum",
            title="{brand} {model} Serum, {volume_ml} ml",
            models=("Vitamin C Glow", "Niacinamide 10%", "Retinal Night", "Hyaluronic Boost"),
            this_noun="this serum",
            search_noun="serum",
            price=(18, 72),
            intros=("{brand} {model} is a {strength} serum that targets {target}.",),
            features=(
                "Use two or three drops in the evening, then follow with moisturizer.",
                "It comes in a {volume_ml} ml amber glass bottle with a dropper.",
                "Vegan and cruelty free.",
            ),
            specs={
                "strength": ("gentle", "high-strength", "beginner-friendly"),
                "target": ("dullness and uneven tone", "dark spots", "fine lines", "dehydration"),
                "volume_ml": (15, 30),
            },
            attributes={},
            aspects=("results", "texture", "scent", "irritation", "bottle"),
            wishes=("I wish the dropper were easier to control.", "I wish it came in a bigger bottle."),
            zh_wishes=("滴管更好控制用量", "出大瓶装"),
            searches=("vitamin c serum", "serum", "niacinamide serum", "retinol serum"),
            max_quantity=2,
            consumable=True,
            complements=(("moisturizer", 0.25),),
        ),
        ProductType(
            key="cleanser",
            title="{brand} {model} Cleanser, {volume_ml} ml",
            models=("Gentle Foam", "Milky", "Gel", "Balm"),
            this_noun="this cleanser",
            search_noun="cleanser",
            price=(9, 32),
            intros=("{brand} {model} Cleanser is a {ph}-pH-balanced face wash that removes sunscreen and makeup.",),
            features=(
                "It is soap free and suitable for twice-daily use.",
                "A {volume_ml} ml tube lasts about three months.",
            ),
            specs={"ph": ("5.5", "low"), "volume_ml": (150, 200)},
            attributes={},
            aspects=("hydration", "scent", "irritation", "texture"),
            wishes=("I wish it came with a pump.",),
            zh_wishes=("做成按压瓶",),
            searches=("face wash", "gentle cleanser", "cleanser for sensitive skin"),
            max_quantity=2,
            consumable=True,
        ),
        ProductType(
            key="sunscreen",
            title="{brand} {model} Sunscreen SPF {spf}, {volume_ml} ml",
            models=("Daily Shield", "Invisible Fluid", "Mineral Veil"),
            this_noun="this sunscreen",
            search_noun="sunscreen",
            price=(12, 38),
            intros=("{brand} {model} is a broad-spectrum SPF {spf} {kind} sunscreen for everyday wear.",),
            features=("It doubles as a primer under makeup.", "Water resistant for 40 minutes.", "Reef-safe formula."),
            specs={"spf": (30, 50), "kind": ("chemical", "mineral", "hybrid"), "volume_ml": (40, 50)},
            attributes={},
            aspects=("white cast", "texture", "absorption", "scent", "irritation"),
            wishes=("I wish it came in a tinted version.", "I wish the tube were travel size too."),
            zh_wishes=("出带色版本", "出旅行装"),
            searches=("sunscreen", "spf 50", "mineral sunscreen", "sunscreen for face"),
            max_quantity=2,
            consumable=True,
        ),
    ),
)

# --- Outdoors > Camping ------------------------------------------------------------------------------
CAMPING = Category(
    path="Outdoors > Camping",
    weight=0.7,
    brands=(Brand("Trailcraft", 1.2), Brand("Summit & Vale", 1.0), Brand("Embercamp", 0.85)),
    newsletter_subjects=("Nights under the stars: camping essentials", "Pack light, sleep well"),
    aspects=(
        A(
            "setup",
            (
                "setup takes five minutes, even alone",
                "the color-coded poles make setup foolproof",
            ),
            (
                "setup is confusing and the instructions are useless",
                "setup alone in wind is nearly impossible",
            ),
            "搭建",
            ("搭建很简单，一个人五分钟搞定",),
            ("搭建很麻烦，说明书看不懂",),
        ),
        A(
            "waterproofing",
            (
                "it stayed bone dry through a night of heavy rain",
            ),
            (
                "water pooled on the floor after a night of rain",
                "the seams leaked in moderate rain",
            ),
            "防水",
            ("下了一夜大雨里面都是干的",),
            ("下雨后地面积水", "接缝处漏水"),
        ),
        A(
            "weight",
            (
                "it's light enough for multi-day hikes",
            ),
            (
                "it's much heavier than advertised",
            ),
            "重量",
            ("很轻，徒步背着不累",),
            ("比宣传的重很多",),
        ),
        A(
            "zipper",
            (
                "the zippers run smoothly",
            ),
            (
                "the door zipper snags on the fabric every time",
                "the zipper broke on the second trip",
            ),
            "拉链",
            ("拉链很顺滑",),
            ("拉链老是夹布", "第二次用拉链就坏了"),
        ),
        A(
            "poles",
            (
                "the aluminium poles feel strong in the wind",
            ),
            (
                "a pole snapped in moderate wind",
            ),
            "帐杆",
            ("帐杆很结实",),
            ("帐杆被风吹断了",),
        ),
        A(
            "ventilation",
            (
                "ventilation is good and there's almost no condensation",
            ),
            (
                "condensation drips on us every morning because ventilation is poor",
            ),
            "通风",
            ("通风好，几乎没有冷凝水",),
            ("早上内帐全是冷凝水",),
        ),
        A(
            "warmth",
            (
                "I stayed warm on a night near freezing",
            ),
            (
                "I was cold at 5 °C despite the 0 °C rating",
            ),
            "保暖",
            ("零度左右也很暖和",),
            ("标称零度，实际五度就冷",),
        ),
        A(
            "packability",
            (
                "it compresses down to the size of a loaf of bread",
            ),
            (
                "it's bulky and hard to stuff back in the sack",
            ),
            "收纳",
            ("压缩后很小",),
            ("体积太大，很难塞回去",),
        ),
        A(
            "boil time",
            (
                "it boils half a litre in about three minutes",
            ),
            (
                "boil time is slow, especially in wind",
            ),
            "烧水速度",
            ("烧水很快",),
            ("烧水太慢，有风就更慢",),
        ),
        A(
            "ignition",
            (
                "the piezo ignition lights first time, every time",
            ),
            (
                "the ignition stopped working on the first trip",
            ),
            "点火",
            ("点火很可靠",),
            ("点火器很快就坏了",),
        ),
        A(
            "stability",
            (
                "it's stable even with a large pot",
            ),
            (
                "the pot supports are wobbly and a full pot feels unsafe",
            ),
            "稳定性",
            ("放大锅也很稳",),
            ("锅架不稳，很危险",),
        ),
        A(
            "brightness",
            (
                "the beam is bright enough to light up the whole trail",
            ),
            (
                "it's much dimmer than the lumen rating suggests",
            ),
            "亮度",
            ("很亮，照得很远",),
            ("亮度远不如宣传的",),
        ),
        A(
            "battery life",
            (
                "the battery lasts a whole weekend on medium",
            ),
            (
                "the battery drains in a single evening",
            ),
            "续航",
            ("电池能用一整个周末",),
            ("一个晚上就没电了",),
        ),
        A(
            "strap",
            (
                "the strap is comfortable for hours",
            ),
            (
                "the strap is too tight and digs into my forehead",
            ),
            "头带",
            ("头带戴着很舒服",),
            ("头带太紧，勒得额头疼",),
        ),
    ),
    types=(
        ProductType(
            key="tent",
            title="{brand} {model} {persons}-Person Backpacking Tent",
            models=("Ridge", "Basecamp", "Featherlite", "Pinecrest", "Nomad"),
            this_noun="this tent",
            search_noun="tent",
            price=(99, 449),
            intros=("The {brand} {model} is a freestanding {persons}-person tent that weighs {weight_kg} kg packed.",),
            features=(
                "The fly is rated to {hydrostatic_mm} mm with taped seams.",
                "Two doors and two vestibules give everyone their own way out.",
                "Colour-coded aluminium poles clip on in minutes.",
                "Mesh panels and roof vents cut condensation.",
            ),
            specs={"persons": (1, 2, 3), "weight_kg": (1.3, 1.8, 2.4), "hydrostatic_mm": ("1,500", "3,000", "5,000")},
            attributes={"color": ("Green", "Orange", "Grey")},
            aspects=("setup", "waterproofing", "weight", "zipper", "poles", "ventilation"),
            wishes=("I wish it came with a footprint.", "I wish it had a second door.",
                    "I wish the stakes were sturdier."),
            zh_wishes=("附带地布", "地钉再结实一点"),
            searches=("tent", "backpacking tent", "2 person tent", "lightweight tent"),
            complements=(("sleeping_bag", 0.4), ("camp_stove", 0.25)),
            weight=1.2,
        ),
        ProductType(
            key="sleeping_bag",
            title="{brand} {model} {comfort_c}°C Sleeping Bag",
            models=("Cocoon", "Ember", "Nightfall", "Alpine"),
            this_noun="this sleeping bag",
            search_noun="sleeping bag",
            price=(59, 329),
            intros=("The {brand} {model} is a mummy sleeping bag with a comfort rating of {comfort_c}°C.",),
            features=(
                "It weighs {weight_g} g and packs into a compression sack.",
                "A draft collar and a full-length zip baffle keep heat in.",
                "Filled with {fill}.",
            ),
            specs={
                "comfort_c": (-5, 0, 5),
                "weight_g": (850, 1100, 1400),
                "fill": ("synthetic insulation", "650 fill-power down"),
            },
            attributes={"color": ("Navy", "Red", "Olive")},
            aspects=("warmth", "weight", "packability", "zipper"),
            wishes=("I wish it had a stuff sack with compression straps.", "I wish the zipper had an anti-snag guard."),
            zh_wishes=("附带压缩袋", "拉链加防夹条"),
            searches=("sleeping bag", "winter sleeping bag", "down sleeping bag"),
        ),
        ProductType(
            key="camp_stove",
            title="{brand} {model} Backpacking Stove",
            models=("Flare", "Pocket Rocket", "Blaze", "Micro"),
            this_noun="this stove",
            search_noun="camping stove",
            price=(29, 129),
            intros=("The {brand} {model} is an ultralight canister stove that weighs {weight_g} g.",),
            features=(
                "Piezo ignition lights it without matches.",
                "It boils a litre in about {boil_min} minutes.",
                "The pot supports fold away into a tiny case.",
            ),
            specs={"weight_g": (73, 95, 120), "boil_min": (3.5, 4, 5)},
            attributes={},
            aspects=("boil time", "ignition", "stability", "weight"),
            wishes=("I wish it came with a windscreen.",),
            zh_wishes=("附带挡风板",),
            searches=("camping stove", "backpacking stove", "gas stove camping"),
            weight=0.7,
        ),
        ProductType(
            key="headlamp",
            title="{brand} {model} {lumens} Lumen Rechargeable Headlamp",
            models=("Beam", "Nightowl", "Trail", "Spot"),
            this_noun="this headlamp",
            search_noun="headlamp",
            price=(19, 69),
            intros=("The {brand} {model} is a {lumens} lumen USB-C rechargeable headlamp.",),
            features=(
                "It runs up to {runtime_h} hours on the lowest setting.",
                "A red light mode keeps your night vision.",
                "It is rated IPX4 against rain.",
            ),
            specs={"lumens": (300, 450, 600), "runtime_h": (40, 70, 100)},
            attributes={"color": ("Black", "Orange", "Blue")},
            aspects=("brightness", "battery life", "strap"),
            wishes=("I wish it had a lock mode so it doesn't switch on in my bag.",),
            zh_wishes=("加一个防误触锁",),
            searches=("headlamp", "rechargeable headlamp", "head torch"),
            weight=0.8,
        ),
    ),
)

CATEGORIES: tuple[Category, ...] = (
    HEADPHONES,
    SMARTPHONES,
    PHONE_ACCESSORIES,
    COFFEE,
    BEDDING,
    DRESSES,
    JACKETS,
    RUNNING_SHOES,
    SKINCARE,
    CAMPING,
)

# Phones a case or screen protector can be "for", when the demo has no smartphone products to point at.
FALLBACK_PHONES: tuple[str, ...] = ("Lumio Nova 12", "Nexa Edge S", "Orbit Arc 11 Lite")

# The demo shop's brand in its emails (campaigns.models.Brand), written while the row still has the defaults.
DEMO_BRAND: dict[str, str] = {
    "name": "Northwind Outfitters",
    "primary_colour": "#0b4f6c",
    "accent_colour": "#a3301c",
    "address": "Northwind Outfitters · 12 Harbour Road · Bristol BS1 4RN · United Kingdom",
    "reply_to": "hello@northwind.example",
}

DEMO_CAMPAIGNS: tuple[dict[str, object], ...] = (
    {
        "name": "[Demo] Win back lapsed runners",
        "goal": "winback",
        "channel": "email",
        "brief": (
            "Customers who bought or browsed running gear with us but have not ordered in six months or more. "
            "Remind them what they liked, show the newest road and trail shoes that fit their past "
            "purchases, and mention free 30-day returns on worn shoes. Goal: a first order back."
        ),
        "brand_voice": (
            "Warm and encouraging, like a running-club friend. Short sentences, plain words, one clear call "
            "to action. No guilt-tripping, no fake urgency, at most one exclamation mark."
        ),
        "tone": "warm",
        "offer": "free 30-day returns on worn shoes",
        "banned_words": ["guilt", "last chance", "hurry"],
        "required_text": "You get this email because you agreed to hear from us. Unsubscribe: example.com/unsubscribe",
        "sign_off": "See you on the trails,\nThe running team",
        "audience_filters": {"lifecycle": ["lapsed"], "category": ["Sports > Running"]},
        "variants_per_group": 2,
    },
    {
        "name": "[Demo] Protect your new phone",
        "goal": "cross_sell",
        "channel": "email",
        "brief": (
            "People who bought a smartphone in the last 60 days but no case, screen protector or charger. "
            "Recommend accessories that fit their exact model, explain drop protection and fast charging in "
            "one line each, and offer 15% off a bundle."
        ),
        "brand_voice": "Helpful and precise, a knowledgeable shop assistant. Concrete specs over hype.",
        "tone": "helpful",
        "offer": "15% off a bundle of two accessories",
        "required_text": "You get this email because you agreed to hear from us. Unsubscribe: example.com/unsubscribe",
        "recommend_products": True,
        "variants_per_group": 2,
    },
    {
        "name": "[Demo] Better coffee at home",
        "goal": "conversion",
        "channel": "sms",
        "brief": (
            "Coffee lovers who viewed espresso machines or grinders recently without buying. A short SMS "
            "pointing to our best-reviewed machine and a free bag of beans with any machine this week."
        ),
        "brand_voice": "Friendly and concise; 160 characters; no emojis; always include the opt-out line.",
        "tone": "friendly",
        "offer": "a free bag of beans with any machine this week",
        "required_text": "STOP to opt out",
        "variants_per_group": 2,
    },
)
