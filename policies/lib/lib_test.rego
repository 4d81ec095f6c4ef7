package fenquan.lib_test

import data.fenquan.fixtures as fx
import data.fenquan.lib

test_valid_on_bounds if {
	lib.valid_on("2026-01-01", "", "2026-01-01")
	lib.valid_on("2026-01-01", "2026-03-31", "2026-03-31")
	not lib.valid_on("2026-01-02", "", "2026-01-01")
	not lib.valid_on("2026-01-01", "2026-03-31", "2026-04-01")
	lib.valid_on("", "", "2026-04-01")
}

test_holds if {
	inp := {"org": "czj", "today": "2026-11-21"}
	lib.holds("gao-yan", "gkc-bfbl") with input as inp with data.facts as fx.facts
	not lib.holds("gao-yan", "ysc-zbgl") with input as inp with data.facts as fx.facts
	lib.holds("gao-yan", "ysc-zbgl") with input as {"org": "czj", "today": "2022-12-31"} with data.facts as fx.facts
	not lib.holds("qian-hao", "gkc-zfsh") with input as inp with data.facts as fx.facts
	not lib.holds("ma-lin", "gkc-zfsh") with input as inp with data.facts as fx.facts
	not lib.holds("nobody", "gkc-zfsh") with input as inp with data.facts as fx.facts
	not lib.holds("he-wen", "gkc-zfsh") with input as {"org": "other", "today": "2026-11-21"} with data.facts as fx.facts
}

test_holds_rank if {
	inp := {"org": "czj", "today": "2026-11-21"}
	lib.holds_rank("zhou-min", 3, "gkc") with input as inp with data.facts as fx.facts
	not lib.holds_rank("zhou-min", 3, "ysc") with input as inp with data.facts as fx.facts
	not lib.holds_rank("wu-gang", 3, "gkc") with input as inp with data.facts as fx.facts
	lib.holds_rank("lin-tao", 3, "ysc") with input as inp with data.facts as fx.facts
}

test_declares_conflict if {
	inp := {"org": "czj", "today": "2026-11-21"}
	lib.declares_conflict("sun-li", fx.conflicted_payee) with input as inp with data.facts as fx.facts
	not lib.declares_conflict("sun-li", fx.payee) with input as inp with data.facts as fx.facts
	not lib.declares_conflict("wang-qiang", fx.conflicted_payee) with input as inp with data.facts as fx.facts
	lib.declares_conflict("wang-qiang", fx.conflicted_payee) with input as {"org": "czj", "today": "2025-12-31"} with data.facts as fx.facts
	lib.declares_conflict("xu-hong", {"name": "某某建设有限公司(武汉)", "code": ""}) with input as inp with data.facts as fx.facts
	not lib.declares_conflict("xu-hong", {"name": "某某建设有限公司(武汉)", "code": ""}) with input as {"org": "czj", "today": "2026-11-22"} with data.facts as fx.facts
	not lib.declares_conflict("he-wen", fx.conflicted_payee) with input as inp with data.facts as fx.facts
}

test_matches_counterparty if {
	lib.matches_counterparty({"name": "A公司", "code": "X1"}, {"name": "B公司", "code": " x1"})
	lib.matches_counterparty({"name": "A公司", "code": "X1"}, {"name": "A公司", "code": "X2"})
	not lib.matches_counterparty({"name": "A公司", "code": "X1"}, {"name": "B公司", "code": "X2"})
	lib.matches_counterparty({"name": "A公司(武汉)", "code": ""}, {"name": "A公司 (武汉)", "code": "X2"})
	not lib.matches_counterparty({"name": "", "code": ""}, {"name": "", "code": ""})
}

test_acting_and_principal if {
	lib.acting == {"he-wen"} with input as {"actor": fx.actor("he-wen")}
	lib.acting == {"he-wen", "wu-gang"} with input as {"actor": fx.delegate("he-wen", "wu-gang")}
	lib.principal == "wu-gang" with input as {"actor": fx.delegate("he-wen", "wu-gang")}
	lib.principal == "he-wen" with input as {"actor": fx.actor("he-wen")}
}

test_amount_text if {
	lib.amount_text(1200000.0) == "1200000"
	lib.amount_text(612345.5) == "612345.50"
	lib.amount_text(0) == "0"
}

test_rank_names if {
	lib.rank_zh(3) == "分管处长"
	lib.rank_en(4) == "director"
	lib.rank_zh(9) == "第9级"
}

test_violation_carries_legal_basis if {
	v := lib.violation("x.y", "中", "en", "依据") with input as {"power": {"legal_basis": "《预算法》"}}
	v == {"rule": "x.y", "zh": "中", "en": "en", "basis": "依据", "legal_basis": "《预算法》"}
	w := lib.violation("x.y", "中", "en", "依据") with input as {"power": null}
	w.legal_basis == ""
}
