# 已提交的数据指纹清单（申请人的申请页与审查员的审查页）
manifest-root = 内容承诺根
manifest-kind = 登记对象
manifest-kind-dataset = 数据集（按记录承诺）
manifest-kind-package = 算法包（源代码、模型，按文件承诺）
manifest-records = 记录数
manifest-records-value = { $n } 条不重复记录
manifest-columns = 字段
manifest-views = 视图
manifest-files = 文件
manifest-files-value = { $files } 个文件（其中文本 { $text } 个）
manifest-n-files = { $n } 个文件
manifest-languages = 编程语言
manifest-code = 源代码指纹
manifest-code-value = 规范化词元 { $k }-gram、窗口 { $w } 的筛选指纹 { $n } 个，抽样 { $kept } 个
manifest-tensors = 模型张量
manifest-tensors-value = { $n } 个张量，{ $parameters } 个参数
manifest-digest = 清单摘要（SHA-256）
