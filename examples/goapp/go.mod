module example.test/goapp

go 1.26
