"""
Template placeholders as sent: {node} is the name of the alert's (first)
target node, {code} its short code, {title} and {body} its texts.
"""

from conftest import NHC, NHCN
from test_fanout import create, drill, receivers
from test_reload import write_conf

assert receivers	# the fixture, imported for the tests below


def test_node_and_code_placeholders(daemons, receivers):
    rec = receivers()
    d = daemons(start=False)
    write_conf(d, rec, template="{node}（{code}）{title}：{body}")
    d.start()
    d.load()
    a = create(d, drill(targets=[NHC], roles=["grid_leader"]))
    reqs = rec.wait(a["recipients"], 20)
    want = "【演练】%s（%s）消防疏散演练：" % (NHCN, a["code"])
    assert all(r["doc"]["text"].startswith(want) for r in reqs), \
        [r["doc"]["text"] for r in reqs]
