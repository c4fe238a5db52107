"""What a shopper's message asks for (`Intent`), in English and Chinese, from cue patterns.

Why cue patterns and not a classifier: the intents that matter most are the ones that hand the conversation
to a person (a request for a person, a complaint, an order's status), and a wrong hand-off is cheap while a
missed complaint answered by a model is not; cues are exact, explainable ("matched: unacceptable") and work
the same in both languages, where the shop's embedder (MiniLM) reads English only. The labelled questions in
tests/assistant/intent_questions.py measure them.

Order of the checks, first match wins: a person, then a complaint (an upset shopper is handed off whatever
they ask about), then an order's status (a question about *my* order: only an order system knows), then
returns, then delivery; a question left over is a product question when it asks something (a question
mark, an interrogative, 吗/呢, or a product noun), else "other" (greetings, thanks, payment, chit-chat).
Some cues are ruled out in context: "does it return to the dock by itself?" is about the product, not a
return; "how long does shipping take" is delivery, "when will my order arrive" an order's status.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .models import Intent

_I = re.IGNORECASE


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), _I)


PERSON = _any(
    r"\b(?:talk|speak|chat|connect me|put me through|transfer me)\b(?: \w+){0,3} (?:to|with)\b(?: \w+){0,2} "
    r"(?:human|person|people|agent|representative|rep|someone|somebody|staff|manager|operator|employee|"
    r"support|customer service)",
    r"\b(?:real|live|actual) (?:person|human|agent|people)\b",
    r"\b(?:person|human|someone|somebody|agent) (?:i|we) can (?:talk|speak|chat)\b",
    r"\b(?:human|person|agent|representative|operator|manager) (?:please|pls)\b",
    r"\bcan (?:a|an|some) (?:human|person|agent|one) (?:help|call|contact)\b",
    r"\b(?:call|contact|phone|email) me\b",
    r"^\s*(?:a )?(?:human|agent|representative|operator)\W*$",
    r"\bare you (?:a )?(?:bot|robot|human|real)\b.*\b(?:human|person|someone)\b",
    r"人工|真人|转接|找(?:个)?人|(?:找|联系|叫|要)客服|客服(?:人员)?(?:在吗|在不在|电话)|联系(?:我|你们)|打电话给我|给我打电话|活人",
)
COMPLAINT = _any(
    r"\bunacceptable\b", r"\bridiculous\b", r"\bdisgust\w*", r"\boutrage\w*", r"\bscam\w*", r"\bfraud\w*",
    r"\brip[- ]?off\b", r"\bterrible\b", r"\bawful\b", r"\bhorrible\b", r"\bworst\b", r"\bfurious\b",
    r"\bangry\b", r"\bfed up\b", r"\bsick of\b", r"\bfurious\b", r"\bcomplain\w*", r"\bdisappoint\w*",
    r"\b(?:second|third|fourth|fifth|\d+(?:nd|rd|th)) time\b", r"\bagain and again\b", r"\bnever (?:again|buying)\b",
    r"\bwaste of (?:money|time)\b", r"\bis a joke\b",
    r"\bjunk\b", r"\bgarbage\b", r"\bcrap\w*\b", r"\b(?:what|wtf) the hell\b",
    r"\bhow (?:dare|hard can it be)\b", r"\bstill (?:not|no|haven'?t|hasn'?t)\b.*\b(?:weeks?|days?|months?)\b",
    r"\b(?:report|sue|lawyer|consumer protection)\b",
    r"投诉|太差|很差|垃圾|骗子|骗人|欺骗|差评|不能接受|无法接受|不可接受|气死|生气|失望|太坑|坑人|坑爹|又坏|又出问题|"
    r"第[二三四五六七八九十\d]次|什么破|烂透|恶心|举报|维权|退一赔三|忍无可忍",
)
ORDER = _any(
    r"\bwhere(?:'s| is| are)? (?:my|our)\b(?: \w+){0,2} (?:order|package|parcel|delivery|shipment|stuff|item|items)\b",
    r"\b(?:my|our) (?:order|package|parcel|shipment)\b",
    r"\border (?:status|number|no\.?|#|id)\b", r"\border ?#? ?\d{4,}\b", r"#\d{5,}",
    r"\btrack(?:ing)?\b(?: \w+){0,2} (?:order|package|parcel|number|shipment)\b", r"\btracking\b",
    r"\b(?:has|have|did|was) (?:it|they|my \w+) (?:been )?(?:shipped|dispatched|sent|arrived)\b",
    r"\b(?:hasn'?t|has not|haven'?t|have not|didn'?t|did not|never|not yet) (?:been )?"
    r"(?:arrived|received|delivered|shipped|come|got it|gotten|get it)\b",
    r"\bi (?:ordered|bought|paid)\b.*\b(?:when|where|still|yet|arrive|status)\b",
    r"\bcancel (?:my|the|an?) order\b", r"\bchange (?:my|the) (?:order|address)\b",
    r"我的(?:订单|包裹|快递|货)|订单(?:状态|号|到哪|在哪|怎么还|什么时候)|查(?:一下|下)?(?:订单|物流|快递)|物流(?:信息|到哪|状态)|"
    r"(?:快递|包裹|货)(?:到哪|在哪|怎么还没)|还没(?:到|收到|发货)|没收到|(?:发货了吗|发了吗|寄出了吗)|单号|取消订单|改地址",
)
RETURNS = _any(
    r"\breturn(?:s|ed|ing)?\b(?! (?:to|back to|home|on its own|by itself|automatically)\b"
    r"(?! (?:you|the (?:shop|store|seller|sender))))",
    r"\brefund\w*", r"\bexchange\w*", r"\bsend (?:\w+ ){0,3}back\b", r"\brestocking\b", r"\bmoney back\b",
    r"\bswap (?:it|them|this) for\b",
    r"\breplace(?:ment)?\b(?! (?:the |a |its |their )?(?:parts?|heads?|filters?|batter(?:y|ies)|pads?|blades?))",
    r"\bwrong (?:size|colou?r|item)\b.*\b(?:change|swap|send)\b",
    r"退货|退款|换货|退换|无理由|退回|寄回|换一个|换个|七天|保修期内|能退|可以退|能换|可以换",
)
_RETURN_TO_PLACE = re.compile(
    r"\breturns? (?:to|back to) (?:the |its |their )?(?:dock|base|station|home|charger|charging|start|position|"
    r"original|normal|default|zero|factory)", _I,
)
DELIVERY = _any(
    r"\bship(?:s|ped|ping)?\b", r"\bdeliver(?:y|ies|ed|s)?\b", r"\bpostage\b", r"\bcourier\b", r"\bdispatch\w*",
    r"\bexpress\b", r"\bpick[- ]?up\b(?! (?:dog|hair|dust|dirt))", r"\bin stock\b.*\b(?:when|ship)\b",
    r"\bhow (?:long|soon|fast|quickly)\b.*\b(?:arrive|get (?:it|here|to)|receive|take to come)\b",
    r"\barrive\b", r"\bcustoms\b", r"\bimport (?:duty|duties|tax)\b", r"\bfree shipping\b",
    r"\bdo you (?:ship|deliver|send) (?:to|abroad|internationally|overseas)\b",
    r"发货|配送|快递|运费|包邮|邮费|几天(?:能)?到|多久(?:能)?到|送达|邮寄|寄到|送货|物流|顺丰|同城|自提|海外|国外",
)
QUESTION = _any(
    r"\?", r"？",
    r"^\s*(?:does|do|is|are|can|could|will|would|should|has|have|how|what|which|where|when|why|who|any|"
    r"did|was|were|may)\b",
    r"吗|呢|么|多少|多大|多长|多重|几|哪|怎么|如何|是否|能否|能不能|可不可以|有没有|是不是|会不会|什么",
)
PRODUCT_WORDS = _any(
    r"\b(?:battery|batteries|charge|charger|charging|size|sizes|colou?rs?|black|white|blue|red|weight|material|"
    r"compatible|waterproof|warranty|dimensions?|inch(?:es)?|cm|mm|fit|fits|model|version|pack|capacity|"
    r"noise|sound|screen|works? with|made of|include[sd]?|comes? with|manual|instructions|setting|mode|"
    r"clean|wash|dishwasher|microwave|plug|voltage|volt|watt|bluetooth|wifi|app|dock|price|cost|specs?)\b",
    r"电池|充电|尺寸|尺码|大小|颜色|颜|色|重量|材质|兼容|防水|保修|质保|型号|版本|容量|噪音|声音|屏幕|说明书|模式|清洗|"
    r"插头|电压|功率|蓝牙|价格|多少钱|规格|适合|适用|能用|好用|续航|黑色|白色|蓝色|红色",
)
GREETING = _any(
    r"^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening)|thanks?|thank you|thx|ok|okay|cool|great|bye|"
    r"goodbye|yo)\b[\s!.,]*(?:there|you|so much|a lot)?[\s!.,]*$",
    r"^\s*(?:你好|您好|在吗|谢谢|多谢|好的|嗯|拜拜|再见|哈喽)[\s!！。，,~]*$",
)
# Shop matters that are neither a product, delivery nor returns: they get the "other" intent.
OTHER_TOPICS = _any(
    r"\b(?:paypal|credit card|pay(?:ment)?|invoice|vat|coupon|voucher|promo code|discount code|gift card|"
    r"account|password|log ?in|sign ?up|newsletter|unsubscribe|opening hours|store hours|"
    r"physical (?:store|shop)|job|jobs|career|"
    r"who are you|are you a (?:bot|robot|ai)|joke|weather)\b",
    r"付款|支付|发票|优惠券|优惠码|礼品卡|账号|密码|登录|注册|营业时间|你是谁|机器人|笑话|天气",
)


@dataclass(frozen=True)
class IntentResult:
    intent: Intent
    cue: str  # the words that decided ("" for the default)


def classify(text: str) -> IntentResult:
    """The intent of one message and the cue that decided it (see the module docstring for the order)."""
    text = " ".join((text or "").split())
    if not text:
        return IntentResult(Intent.OTHER, "")
    handing_off = ((Intent.REQUEST_PERSON, PERSON), (Intent.COMPLAINT, COMPLAINT), (Intent.ORDER_STATUS, ORDER))
    for intent, pattern in handing_off:
        found = pattern.search(text)
        if found:
            return IntentResult(intent, found.group(0))
    found = RETURNS.search(text)
    if found and not _RETURN_TO_PLACE.search(text[max(0, found.start() - 1):]):
        return IntentResult(Intent.RETURNS, found.group(0))
    found = DELIVERY.search(text)
    if found:
        return IntentResult(Intent.DELIVERY, found.group(0))
    found = GREETING.search(text) or OTHER_TOPICS.search(text)
    if found:
        return IntentResult(Intent.OTHER, found.group(0))
    found = PRODUCT_WORDS.search(text) or QUESTION.search(text)
    if found:
        return IntentResult(Intent.PRODUCT_QUESTION, found.group(0))
    return IntentResult(Intent.OTHER, "")


def intent_of(text: str) -> Intent:
    """The intent of one message (`classify` without the cue)."""
    return classify(text).intent
