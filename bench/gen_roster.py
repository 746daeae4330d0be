#!/usr/bin/python3
"""
gen_roster.py - generate a synthetic city roster for the import benchmark.

Writes a roster CSV in the format of DESIGN.md: streets (街道) and towns
(镇/乡), their urban communities (社区) and villages (村), grids (villager
groups in a village), buildings and units, one row per post holder.  The
defaults give a city about the size of Changchun: ~150 streets, ~1,200
communities, ~12,000 grids, ~117,000 buildings, ~465,000 units and
~610,000 posts.

Each --*-per-* option is a mean: every node draws its own count within
+-25% of it, so the tree is uneven the way a real city is, while the
totals stay close to the nominal size.  The output depends only on the
options (same options, same bytes).  Every row passes the roster rules;
every person has one phone and every phone one person; a few hundred
people hold two posts (a building leader who also leads unit 1) and about
2% of posts have a backup holder (B角).

Usage: gen_roster.py [--streets N] [--communities-per-street N]
    [--grids-per-community N] [--buildings-per-grid N]
    [--units-per-building N] [--villages-fraction F] [--seed N] [--out FILE]

Only the standard library; run with /usr/bin/python3.  A summary of the
counts goes to stderr.
"""

import argparse
import math
import random
import sys
import time

HEADER = ("street_code,street_name,community_code,community_name,grid,"
          "building,unit,role,rank,name,phone,channels\n")

# Changchun's county-level divisions (2201xx); synthetic ones follow when
# a large --streets needs more, so that no district gets too many streets.
DISTRICTS = ["220102", "220103", "220104", "220105", "220106", "220112",
             "220113", "220122", "220182", "220183", "220184"]
STREETS_PER_DISTRICT = 15

# Community sequence numbers: urban 001-199, villages 201-399 (the
# roster treats a last three digits of 2xx or 3xx as a village).
MAX_SEQ = 199

# Chance that a post also has a backup holder (B角), by kind of post.
BACKUP_P = {"duty_street": 0.3, "duty_community": 0.5, "grid": 0.3,
            "building": 0.04, "unit": 0.012}
# Chance that a building leader also leads unit 1 of the same building.
TWO_POSTS_P = 0.005

SURNAMES = ("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧"
            "程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜"
            "范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段雷钱汤"
            "尹黎易常武乔贺赖龚文庞樊兰殷施陶洪翟安颜倪严牛温芦季俞章鲁葛"
            "伍韦申尤毕聂丛焦向柳邢路岳齐欧梅莫庄辛管祝左涂谷祁时舒耿牟卜")
GIVEN_1 = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华萍红波辉鹏飞琳")
GIVEN_2 = """
    秀英 秀兰 桂英 玉兰 建国 建华 志强 志刚 海燕 晓梅 春梅 立新 永刚 国庆
    德胜 淑珍 淑华 凤英 桂芝 文静 丽华 丽萍 红霞 宏伟 振东 明辉 春燕 晓东
    秀珍 玉珍 长海 守业 福林 宝山 云飞 婉清 立军 晓红 海波 国栋 建新 晓丽
    德明 玉梅 振华 志远 雪芹 丽芳 晓静 国华 铁柱 喜春 守田 秀云 长发 翠兰
    文亮 佳怡 子涵 浩然 欣怡 梓轩 雨桐 思远 俊峰 桂荣 凤琴 春霞 德林 金凤
""".split()

PLACE_A = "东西南北中新长兴和永安富广春光明华泰顺宁福丰民昌盛德裕清湖林山河"
PLACE_B = "湖阳安和兴平宁盛华园城桥岭林苑台泉湾庄河山源丰乐泰康明荣"

CN_DIGITS = "零一二三四五六七八九"


def cn_number(n):
    """1 -> 一, 10 -> 十, 12 -> 十二, 20 -> 二十, 105 -> 一百零五 (n < 1000)."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        s = ("" if tens == 1 else CN_DIGITS[tens]) + "十"
        return s + (CN_DIGITS[ones] if ones else "")
    hundreds, rest = divmod(n, 100)
    s = CN_DIGITS[hundreds] + "百"
    if rest == 0:
        return s
    if rest < 10:
        return s + "零" + CN_DIGITS[rest]
    tens, ones = divmod(rest, 10)
    return s + CN_DIGITS[tens] + "十" + (CN_DIGITS[ones] if ones else "")


class People:
    """Hands out people: a name and a phone that no one else has.

    Person i gets x = (a * i + b) mod (P * 10^8), read as a prefix number
    x // 10^8 and eight digits x % 10^8; the eight digits then go through
    a three-round Feistel network on two four-digit halves.  Both steps
    are bijections, so phones never repeat, and neighbours in the roster
    get numbers with no visible pattern, as real ones are."""

    PREFIXES = ["138", "139", "135", "136", "137", "150", "151", "152",
                "158", "159", "186", "187", "188", "130", "131", "132",
                "155", "156", "185", "133", "153", "180", "189", "177",
                "199", "166", "147", "173"]

    def __init__(self, rng):
        self.rng = rng
        self.prefixes = self.PREFIXES[:]
        rng.shuffle(self.prefixes)
        self.mod = len(self.prefixes) * 10 ** 8
        a = rng.randrange(10 ** 8, self.mod)
        while math.gcd(a, self.mod) != 1:
            a += 1
        self.a = a
        self.b = rng.randrange(self.mod)
        self.rounds = [[rng.randrange(10000) for _ in range(10000)]
                       for _ in range(3)]
        self.count = 0

    def phone(self, i):
        q, r = divmod((self.a * i + self.b) % self.mod, 10 ** 8)
        left, right = divmod(r, 10000)
        for f in self.rounds:
            left, right = right, (left + f[right]) % 10000
        return "%s%04d%04d" % (self.prefixes[q], left, right)

    def new(self):
        rng = self.rng
        if rng.random() < 0.3:
            given = rng.choice(GIVEN_1)
        else:
            given = rng.choice(GIVEN_2)
        name = rng.choice(SURNAMES) + given
        phone = self.phone(self.count)
        self.count += 1
        return name, phone


class City:
    """The generator's state: options, random source, output and counts."""

    def __init__(self, opts, out):
        self.o = opts
        self.rng = random.Random(opts.seed)
        self.people = People(self.rng)
        self.out = out
        self.buf = [HEADER]
        self.n = dict(streets=0, towns=0, communities=0, villages=0,
                      grids=0, buildings=0, units=0, posts=0, backups=0,
                      two_posts=0, bytes=0)
        self.roles = {}
        self.debt = {}
        self.street_names = set()
        self.villages_so_far = 0
        self.communities_so_far = 0

    def vary(self, level, mean):
        """A count within +-25% of mean for a node of this level.  The
        running deviation of one level's draws from the mean is kept
        within the same 25%, so the totals stay close to the nominal
        size whatever the seed."""
        d = mean // 4
        x = self.rng.randint(mean - d, mean + d)
        debt = self.debt.get(level, 0)
        if abs(debt + x - mean) > d:
            x = mean - debt if abs(debt) <= d else mean
        self.debt[level] = debt + x - mean
        return max(1, x)

    def place_name(self, used, suffix):
        """A two-character place name, unique among used."""
        rng = self.rng
        for _ in range(50):
            name = rng.choice(PLACE_A) + rng.choice(PLACE_B) + suffix
            if name not in used:
                break
        else:
            name = "%s%s%s%s" % (rng.choice(PLACE_A), rng.choice(PLACE_B),
                                 cn_number(len(used) % 999 + 1), suffix)
        used.add(name)
        return name

    def write(self, force=False):
        if force or len(self.buf) >= 4096:
            data = "".join(self.buf)
            self.out.write(data)
            self.n["bytes"] += len(data.encode("utf-8"))
            self.buf = []

    def post(self, prefix, tail, role, rank, person, channels=""):
        """One row: prefix holds the street and community columns and
        their trailing comma, tail the grid, building and unit columns."""
        self.buf.append("%s%s,%s,%d,%s,%s,%s\n" % (
            prefix, tail, role, rank, person[0], person[1], channels))
        self.n["posts"] += 1
        self.roles[role] = self.roles.get(role, 0) + 1
        if rank == 2:
            self.n["backups"] += 1

    def leader(self, prefix, tail, role, backup_p):
        """A post with its A角 and, sometimes, a B角; returns the A角."""
        primary = self.people.new()
        self.post(prefix, tail, role, 1, primary)
        if self.rng.random() < backup_p:
            self.post(prefix, tail, role, 2, self.people.new())
        return primary

    def building(self, prefix, grid, number):
        self.n["buildings"] += 1
        head = self.leader(prefix, "%s,%d," % (grid, number),
                           "building_leader", BACKUP_P["building"])
        two_posts = self.rng.random() < TWO_POSTS_P
        for u in range(1, self.vary("unit", self.o.units_per_building) + 1):
            self.n["units"] += 1
            tail = "%s,%d,%d" % (grid, number, u)
            if u == 1 and two_posts:
                self.post(prefix, tail, "unit_leader", 1, head)
                self.n["two_posts"] += 1
            else:
                self.leader(prefix, tail, "unit_leader", BACKUP_P["unit"])

    def urban_grids(self, prefix):
        # Buildings are numbered through the community, as on the street.
        number = 0
        for g in range(1, self.vary("grid", self.o.grids_per_community) + 1):
            self.n["grids"] += 1
            grid = "G%02d" % g
            self.leader(prefix, grid + ",,", "grid_leader", BACKUP_P["grid"])
            for _ in range(self.vary("building", self.o.buildings_per_grid)):
                number += 1
                self.building(prefix, grid, number)
                self.write()

    def village_groups(self, prefix):
        rng = self.rng
        for g in range(1, self.vary("grid", self.o.grids_per_community) + 1):
            self.n["grids"] += 1
            tail = cn_number(g) + "组,,"
            self.leader(prefix, tail, "grid_leader", BACKUP_P["grid"])
            for _ in range(rng.randint(2, 4)):
                self.post(prefix, tail, "villager_rep", 1, self.people.new(),
                          "households=%d" % rng.randint(8, 30))

    def community(self, prefix, village):
        self.n["communities"] += 1
        self.n["villages"] += village
        self.leader(prefix, ",,", "duty_officer", BACKUP_P["duty_community"])
        if village:
            self.village_groups(prefix)
        else:
            self.urban_grids(prefix)
        self.write()

    def is_town(self, n):
        """Whether the next street, with n communities, is a town (all
        villages).  Error diffusion spreads the towns evenly and keeps the
        village share close to --villages-fraction."""
        target = self.o.villages_fraction * (self.communities_so_far + n)
        return self.villages_so_far + n - target <= n / 2

    def street(self, scode, sname, n, town):
        self.n["streets"] += 1
        self.n["towns"] += town
        self.leader("%s,%s,,," % (scode, sname), ",,", "duty_officer",
                    BACKUP_P["duty_street"])
        used = set()
        for seq in range(1, n + 1):
            if town:
                code = "%s%03d" % (scode, 200 + seq)
                name = self.place_name(used, "村")
            else:
                code = "%s%03d" % (scode, seq)
                name = self.place_name(used, "社区")
            self.community("%s,%s,%s,%s," % (scode, sname, code, name), town)
        self.communities_so_far += n
        self.villages_so_far += n if town else 0

    def district_code(self, i):
        """The i-th county-level code: Changchun's, then synthetic ones
        (2201xx for xx >= 30, then 2202xx and on)."""
        if i < len(DISTRICTS):
            return DISTRICTS[i]
        pref, k = divmod(i - len(DISTRICTS), 60)
        return "%04d%02d" % (2201 + pref, 30 + k)

    def run(self):
        """Streets 0xx (街道), towns 1xx (镇) and townships 2xx (乡), as
        division codes number them."""
        seq = {}
        for s in range(self.o.streets):
            district = self.district_code(s // STREETS_PER_DISTRICT)
            n = self.vary("community", self.o.communities_per_street)
            town = self.is_town(n)
            if not town:
                base, suffix = 0, "街道"
            elif self.rng.random() < 0.8:
                base, suffix = 100, "镇"
            else:
                base, suffix = 200, "乡"
            k = seq[(district, base)] = seq.get((district, base), 0) + 1
            code = "%s%03d" % (district, base + k)
            name = self.place_name(self.street_names, suffix)
            self.street(code, name, n, town)
        self.write(force=True)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Generate a synthetic city roster CSV (DESIGN.md format).")
    p.add_argument("--streets", type=int, default=150)
    p.add_argument("--communities-per-street", type=int, default=8)
    p.add_argument("--grids-per-community", type=int, default=10)
    p.add_argument("--buildings-per-grid", type=int, default=10)
    p.add_argument("--units-per-building", type=int, default=4)
    p.add_argument("--villages-fraction", type=float, default=0.03,
                   help="share of communities that are villages (0..1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="-", help="output file; - = stdout")
    o = p.parse_args(argv)
    for name in ("streets", "communities_per_street", "grids_per_community",
                 "buildings_per_grid", "units_per_building"):
        if getattr(o, name) < 1:
            p.error("--%s must be at least 1" % name.replace("_", "-"))
    if o.communities_per_street * 5 // 4 > MAX_SEQ:
        p.error("--communities-per-street: at most %d fit in a street's "
                "code range" % (MAX_SEQ * 4 // 5))
    if o.grids_per_community * 5 // 4 > 999:
        p.error("--grids-per-community: at most 799")
    if o.streets > STREETS_PER_DISTRICT * (len(DISTRICTS) + 60 * 90):
        p.error("--streets: too many")
    if not 0.0 <= o.villages_fraction <= 1.0:
        p.error("--villages-fraction must be within 0..1")
    return o


def summary(city, elapsed):
    n = city.n
    roles = ", ".join("%s %d" % kv for kv in sorted(city.roles.items()))
    sys.stderr.write(
        "gen_roster: %d streets (%d towns), %d communities (%d villages), "
        "%d grids, %d buildings, %d units\n"
        "gen_roster: %d posts (%s); %d backups (B角), %d people, "
        "%d holding two posts\n"
        "gen_roster: %.1f MB in %.1f s\n" % (
            n["streets"], n["towns"], n["communities"], n["villages"],
            n["grids"], n["buildings"], n["units"], n["posts"], roles,
            n["backups"], city.people.count, n["two_posts"],
            n["bytes"] / 1e6, elapsed))


def main(argv):
    o = parse_args(argv)
    t0 = time.monotonic()
    if o.out == "-":
        out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="\n",
                   buffering=1 << 20, closefd=False)
    else:
        out = open(o.out, "w", encoding="utf-8", newline="\n",
                   buffering=1 << 20)
    with out:
        city = City(o, out)
        city.run()
    summary(city, time.monotonic() - t0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
