// Package demo is the data set `fenquan up --demo` loads: 江城市财政局 (org czj), a fictional
// city finance bureau built from the practice the seed documents describe — chiefly the
// Wuhan finance bureau's report: the sign-off chain 经办人→主管责任人→分管处长→处长, the split of
// a fund into 预算指标、支出计划、支付审核、拨付办理、会计核算 on different posts of the same rank,
// 管办分离, A角/B角 on every post, the emergency channel (绿色通道) with a 联合会审, and a 职权目录
// whose 行政处罚 carries a 裁量基准.
//
// It is an ordinary catalogue file (catalog.yaml, see docs/CATALOG.md), embedded so that the
// demo needs nothing on disk, and kept valid by this package's tests: every reference
// resolves inside the file, the A/B rules hold, and every flow passes the registry's own
// flow validation.
package demo
