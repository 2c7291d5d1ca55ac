from rag.retrieve.query import QuestionKind, analyze_query


def test_years_named_in_a_question_are_years_not_counts():
    assert analyze_query("2024年检查了多少家企业？").years == (2024,)
    assert analyze_query("How many firms were checked in 2024?").years == (2024,)
    assert analyze_query("共有2000家企业吗？").years == ()


def test_question_kinds():
    assert analyze_query("2024年检查了多少家企业？").kind is QuestionKind.NUMBER
    assert analyze_query("“苏科创十八条”是什么时候发布的？").kind is QuestionKind.DATE
    assert analyze_query("苏州市科技局局长是谁？").kind is QuestionKind.ENTITY
    assert analyze_query("校外培训机构预收费资金纳入了哪些监管平台？").kind is QuestionKind.LIST
    assert analyze_query("发展还面临哪些困难和挑战？").kind is QuestionKind.SECTION
