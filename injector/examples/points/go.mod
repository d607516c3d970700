module faultline.example/points

go 1.19
