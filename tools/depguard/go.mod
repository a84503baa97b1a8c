module github.com/alknet/alknet/tools/depguard

go 1.26.0
