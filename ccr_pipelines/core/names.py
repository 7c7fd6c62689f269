"""Name gazetteer for the person recogniser (P21) — pure, no model.

Common French and English given names and surnames, lower-cased. A list, not a
model: it cannot know every name, so it backs up the spaCy NER (which misses
names in unpunctuated, lower-cased ASR text) and lets call ids be checked for
names without loading a model (core/ingest.py). ``AMBIGUOUS`` holds names that
are also ordinary words (« pierre », "rose", "mark"): they count as a name only
with a cue (a title, « je m'appelle », "my name is"), a capital letter away from
the start of a sentence, or a surname beside them.
"""

from __future__ import annotations

FIRST_NAMES = frozenset(
    """
jean marie pierre michel philippe alain nicolas christophe patrick daniel françois francois laurent frédéric
frederic eric éric stéphane stephane david julien sébastien sebastien thomas olivier christian jacques bernard
didier thierry pascal vincent sylvain antoine maxime alexandre romain guillaume mathieu matthieu hugo lucas
louis gabriel léo leo raphaël raphael arthur jules adam paul victor noé noe ethan nathan enzo théo theo
clément clement baptiste quentin florian kevin kévin jérôme jerome benoît benoit gilles yves henri andré andre
marc marcel rené rene roger georges gérard gerard claude dominique serge fabrice franck cédric cedric arnaud
anne catherine isabelle sylvie nathalie christine martine françoise francoise sandrine valérie valerie
véronique veronique sophie céline celine stéphanie stephanie caroline julie aurélie aurelie émilie emilie
camille léa lea manon chloé chloe emma inès ines jade louise alice lina zoé zoe juliette charlotte lucie
sarah mathilde clara pauline laura marion élise elise hélène helene agnès agnes brigitte monique nicole
chantal josiane jacqueline danielle odile colette simone yvonne lucienne mireille annie patricia corinne
karine virginie audrey mélanie melanie elodie élodie margaux océane oceane amandine justine anaïs anais
nadia fatima mohamed mohammed ahmed karim mehdi youssef sofiane rachid samir nabil omar yasmine leila leïla
aïcha aicha amina mamadou moussa ibrahim fatou aminata kofi
john james robert michael william richard joseph charles christopher daniel matthew anthony donald steven
andrew kenneth joshua kevin brian george edward ronald timothy jason jeffrey ryan jacob gary nicholas eric
jonathan stephen larry justin scott brandon benjamin samuel gregory alexander patrick jack dennis jerry tyler
aaron henry douglas peter adam zachary nathan walter kyle harold carl jeremy keith roger gerald ethan arthur
terry christian sean lawrence austin joe noah jesse albert bryan billy bruce willie jordan dylan alan ralph
gabriel roy juan wayne eugene logan randy louis russell vincent philip bobby johnny bradley liam oliver
harry oscar charlie alfie freddie archie theo leo jacob thomas callum connor declan ciaran ciarán niall
seamus séamus padraig pádraig eoin cian oisin oisín darragh aoife siobhan siobhán niamh sinead sinéad
orla ciara saoirse roisin róisín caoimhe
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra
ashley kimberly emily donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura
cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen samantha katherine christine
debra rachel carolyn janet catherine maria heather diane ruth julie olivia joyce virginia victoria kelly
lauren christina joan evelyn judith megan andrea cheryl hannah jacqueline martha gloria teresa ann sara
madison frances kathryn janice jean abigail alice judy sophia denise marilyn isabella beverly amber
danielle theresa diana natalie brittany charlotte marie kayla alexis lori amelia isla ava mia ella
poppy lily sophie chloe jessica ruby evie millie sienna freya priya raj rajesh sanjay anil sunil deepak
vijay arjun rahul amit ananya wei li chen mei hiroshi yuki kenji
sam alex chris pat kim lee jo max nina omar nadia tom tim ben dan nick mike steve dave andy rob bob
""".split()
)

# Also ordinary words in French or English: a name only with a cue, a non-initial capital, or a surname.
AMBIGUOUS = frozenset(
    """
pierre rose mark will grace hope joy faith bill frank jack olive april may june august sunny dawn
victoire constance florence prudence félicité felicite aurore marine ange angèle céleste celeste désiré
desire prosper blanche claire clair fleur violette océane pat bob jo guy max sam lee kim chance
rich ray sky summer autumn ivy holly heather iris amber ruby jade crystal pearl penny daisy lily poppy
martin france rené
""".split()
)

SURNAMES = frozenset(
    """
martin bernard dubois thomas robert richard petit durand leroy moreau simon laurent lefebvre michel garcia
david bertrand roux vincent fournier morel girard andré andre lefèvre lefevre mercier dupont dupond lambert
bonnet françois francois martinez legrand garnier faure rousseau blanc guerin guérin muller henry roussel
nicolas perrin morin mathieu clément clement gauthier dumont lopez fontaine chevalier robin masson sanchez
gérard gerard nguyen boyer denis lemaire duval joly gautier roger roche roy noel noël meyer lucas meunier
jean perez marchand dufour blanchard marie barbier brun dumas brunet schmitt leroux colin fernandez
pierre renard arnaud rolland caron aubert giraud leclerc vidal bourgeois renaud lemoine picard gaillard
philippe leclercq lacroix fabre dupuis olivier rodriguez da silva hubert louis charles guillot riviere
rivière le gall le goff le roux benoit benoît dubreuil tessier
smith johnson williams brown jones miller davis wilson anderson taylor moore jackson white harris
thompson clark lewis walker hall allen young king wright scott green baker adams nelson hill campbell
mitchell roberts carter phillips evans turner parker collins edwards stewart morris murphy cook rogers
morgan cooper peterson reed bailey bell kelly howard ward cox richardson wood watson brooks bennett gray
james hughes price sanders patel shah singh kumar khan ali hussain ahmed wong chen lee kim o'brien
o'connor o'neill o'sullivan ryan byrne walsh doyle mccarthy gallagher kennedy lynch murray quinn moore
mcdonald macdonald fitzgerald doherty brennan reilly johnston robinson wright thompson hughes
""".split()
)

AMBIGUOUS_SURNAMES = frozenset(
    """
petit blanc roux brun noel noël roy denis marchand bell wood young king green white brown gray hill
cook price ward hall baker parker turner walker rich martin thomas james lee kelly moore ryan louis
jean marie pierre charles philippe olivier hubert henry lucas simon david nicolas
""".split()
)
