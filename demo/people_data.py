"""Names and places for demo customers: mostly English-speaking shoppers, with a real mix of origins.

Emails are built from these names at the reserved example domains only (RFC 2606), so no demo message
can ever reach a real inbox.
"""

from __future__ import annotations

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.org", "example.net")

# (share, first names, last names): names are drawn within one group so that they sound like a real
# person's, and the groups mix the way a big English-speaking shop's customer list does.
NAME_GROUPS: tuple[tuple[float, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        0.62,
        (
            "Olivia", "Emma", "Amelia", "Sophie", "Charlotte", "Grace", "Chloe", "Lucy", "Hannah", "Emily",
            "Jessica", "Sarah", "Megan", "Rachel", "Laura", "Katie", "Abigail", "Madison", "Ella", "Zoe",
            "James", "Oliver", "Jack", "Harry", "George", "Noah", "Liam", "Ethan", "Lucas", "Daniel",
            "Matthew", "Ryan", "Michael", "David", "Thomas", "Samuel", "Benjamin", "Joshua", "Nathan", "Adam",
            "Chris", "Tyler", "Brandon", "Kevin", "Jason", "Eric", "Mark", "Paul", "Andrew", "Sean",
        ),
        (
            "Smith", "Johnson", "Williams", "Brown", "Jones", "Taylor", "Davies", "Evans", "Wilson", "Thomas",
            "Roberts", "Walker", "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall",
            "Wood", "Harris", "Clarke", "Jackson", "Turner", "Hill", "Moore", "Martin", "Cooper", "Ward",
            "Miller", "Anderson", "Baker", "Carter", "Mitchell", "Campbell", "Parker", "Collins", "Stewart",
            "Murphy", "O'Brien", "MacDonald", "Kelly", "Reid", "Bennett", "Gray", "Fletcher", "Shaw",
        ),
    ),
    (
        0.1,
        ("Sofia", "Mateo", "Lucia", "Diego", "Camila", "Javier", "Valentina", "Carlos", "Isabela", "Rafael"),
        ("Garcia", "Martinez", "Rodriguez", "Lopez", "Hernandez", "Gonzalez", "Perez", "Silva", "Costa", "Santos"),
    ),
    (
        0.08,
        ("Priya", "Arjun", "Ananya", "Rohan", "Aisha", "Omar", "Fatima", "Yusuf", "Leila", "Karim", "Nadia"),
        ("Patel", "Shah", "Singh", "Kumar", "Gupta", "Khan", "Ahmed", "Hussain", "Ali", "Rahman", "Iqbal"),
    ),
    (
        0.06,
        ("Hiroshi", "Yuki", "Haruto", "Aiko", "Min-jun", "Ji-woo", "Seo-yeon", "Thanh", "Linh", "Minh"),
        ("Tanaka", "Suzuki", "Sato", "Kim", "Park", "Lee", "Nguyen", "Tran", "Pham", "Choi"),
    ),
    (
        0.05,
        ("Chiamaka", "Tunde", "Amara", "Kwame", "Zanele", "Sipho", "Ngozi", "Kofi"),
        ("Okafor", "Adeyemi", "Mensah", "Ndlovu", "Dlamini", "Eze", "Boateng", "Nwosu"),
    ),
    (
        0.09,
        ("Ingrid", "Lars", "Astrid", "Matteo", "Giulia", "Luca", "Camille", "Hugo", "Anouk", "Joost",
         "Katarzyna", "Piotr", "Elena", "Nikos", "Mehmet", "Hannah", "Felix", "Clara"),
        ("Johansson", "Nielsen", "Berg", "Rossi", "Bianchi", "Romano", "Dubois", "Moreau", "de Vries",
         "Jansen", "Kowalski", "Nowak", "Papadopoulos", "Yilmaz", "Schmidt", "Muller", "Fischer", "Weber"),
    ),
)

# (surname in characters, surname in pinyin); given names likewise. zh-CN customers sign up with the
# name written in characters; their email local part uses pinyin, as people usually choose.
CHINESE_SURNAMES: tuple[tuple[str, str], ...] = (
    ("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
    ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
    ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("林", "lin"), ("何", "he"),
)
CHINESE_GIVEN_NAMES: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("伟", "wei"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"),
    ("强", "qiang"), ("磊", "lei"), ("洋", "yang"), ("艳", "yan"), ("勇", "yong"), ("杰", "jie"),
    ("婷", "ting"), ("欣怡", "xinyi"), ("子涵", "zihan"), ("浩然", "haoran"), ("梓萱", "zixuan"),
    ("宇轩", "yuxuan"), ("雨桐", "yutong"), ("俊杰", "junjie"), ("思远", "siyuan"), ("佳怡", "jiayi"),
)

# locale -> (share of customers, country code, cities)
LOCALES: tuple[tuple[str, float, str, tuple[str, ...]], ...] = (
    ("en-US", 0.57, "US", ("New York", "Los Angeles", "Chicago", "Houston", "Seattle", "Portland", "Austin",
                         "Denver", "Boston", "Atlanta", "San Diego", "Minneapolis", "Philadelphia", "Nashville")),
    ("en-GB", 0.24, "GB", ("London", "Manchester", "Bristol", "Leeds", "Edinburgh", "Glasgow", "Cardiff",
                         "Birmingham", "Brighton", "Liverpool", "Oxford", "Cambridge")),
    ("en-CA", 0.06, "CA", ("Toronto", "Vancouver", "Montreal", "Calgary", "Ottawa")),
    ("en-AU", 0.05, "AU", ("Sydney", "Melbourne", "Brisbane", "Perth")),
    ("en-IE", 0.03, "IE", ("Dublin", "Cork", "Galway")),
    ("zh-CN", 0.05, "CN", ("Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Guangzhou")),
)

# Each city's IANA time zone: customers keep their own hours on their own clock (demo.seed.customers).
CITY_ZONES: dict[str, str] = {
    "New York": "America/New_York", "Boston": "America/New_York", "Atlanta": "America/New_York",
    "Philadelphia": "America/New_York", "Chicago": "America/Chicago", "Houston": "America/Chicago",
    "Austin": "America/Chicago", "Minneapolis": "America/Chicago", "Nashville": "America/Chicago",
    "Denver": "America/Denver", "Los Angeles": "America/Los_Angeles", "Seattle": "America/Los_Angeles",
    "Portland": "America/Los_Angeles", "San Diego": "America/Los_Angeles",
    "Toronto": "America/Toronto", "Ottawa": "America/Toronto", "Montreal": "America/Toronto",
    "Calgary": "America/Edmonton", "Vancouver": "America/Vancouver",
    "Sydney": "Australia/Sydney", "Melbourne": "Australia/Melbourne", "Brisbane": "Australia/Brisbane",
    "Perth": "Australia/Perth",
    "Dublin": "Europe/Dublin", "Cork": "Europe/Dublin", "Galway": "Europe/Dublin",
    **dict.fromkeys(("London", "Manchester", "Bristol", "Leeds", "Edinburgh", "Glasgow", "Cardiff", "Birmingham",
                     "Brighton", "Liverpool", "Oxford", "Cambridge"), "Europe/London"),
    **dict.fromkeys(("Shanghai", "Beijing", "Shenzhen", "Hangzhou", "Chengdu", "Guangzhou"), "Asia/Shanghai"),
}

SIGNUP_SOURCES: tuple[tuple[str, float], ...] = (
    ("checkout", 0.45),
    ("newsletter", 0.2),
    ("social", 0.15),
    ("referral", 0.1),
    ("marketplace", 0.1),
)
