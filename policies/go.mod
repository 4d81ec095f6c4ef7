module github.com/fenquan/fenquan/policies

go 1.26.0
